/* SPDX-License-Identifier: MIT */
#ifndef REGBUF_CLI_H
#define REGBUF_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "regbuf.h"

struct cmd {
	const char *name;
	const char *summary;
	const char *usage;
	int (*run)(int argc, char **argv);
};

int cmd_info(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_top(int argc, char **argv);

extern const char info_usage[], inspect_usage[], bench_usage[], demo_usage[],
	ps_usage[], top_usage[];

/* Say what is wrong with cmd's arguments on stderr and return 2. */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "1G", "512M", "4096", "2m" -> bytes; -1 on error. */
int64_t parse_size(const char *s);
/* sizes are printed by rb_fmt_size(), the library's own (fmt.h) */
#include "fmt.h"

#include "json.h"

/* Machine and features summary (info.c), shared with demo. */
void print_info(FILE *f, bool brief);

double now_ms(void);

/* A directory whose file system takes O_DIRECT (not tmpfs): want if given,
 * else ".", /var/tmp or /tmp. */
const char *direct_dir(const char *want);
bool takes_direct(const char *dir);
/* A file in dir that is unlinked from the start (O_TMPFILE, else unlinked
 * right after creation), opened O_RDWR | flags; -1 with errno. A killed
 * run leaves nothing behind. */
int scratch_file(const char *dir, int flags);

/* The pool's registered slots as iovecs (at most max); returns the count. */
struct iovec;
unsigned pool_slot_iovecs(struct regbuf_pool *pool, struct iovec *iov,
			  unsigned max);

#endif
