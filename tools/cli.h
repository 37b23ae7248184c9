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

extern const char info_usage[], inspect_usage[], bench_usage[], demo_usage[];

/* Print a short usage for cmd to stderr and return 2. */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "1G", "512M", "4096", "2m" -> bytes; -1 on error. */
int64_t parse_size(const char *s);
const char *fmt_size(uint64_t b, char *buf, size_t n);

/* Minimal JSON writer: one object, nested objects and arrays. */
struct json {
	FILE *f;
	int depth;
	bool first[16];
};
void json_begin(struct json *j, FILE *f);
void json_end(struct json *j);
void json_obj(struct json *j, const char *key);
void json_arr(struct json *j, const char *key);
void json_close(struct json *j, char c);
void json_str(struct json *j, const char *key, const char *v);
void json_int(struct json *j, const char *key, int64_t v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_num(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

/* Machine and features summary (info.c), shared with demo. */
void print_info(FILE *f, bool brief);

double now_ms(void);

/* The pool's registered slots as iovecs (at most max); returns the count. */
struct iovec;
unsigned pool_slot_iovecs(const struct regbuf_pool *pool, struct iovec *iov,
			  unsigned max);

#endif
