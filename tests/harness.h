/* SPDX-License-Identifier: MIT */
/*
 * Test harness: every test is a standalone program exiting 0 (pass),
 * 1 (fail) or 77 (skip, with a one-line reason on stdout).
 */
#ifndef REGBUF_TEST_HARNESS_H
#define REGBUF_TEST_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "regbuf.h"

#define T_SKIP 77

/* The running kernel's version as major * 1000 + minor (6.1: 6001). */
static inline int t_kver(void)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) == 0)
		sscanf(u.release, "%d.%d", &a, &b);
	return a * 1000 + b;
}

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: CHECK(%s) failed (%s)\n", \
				__FILE__, __LINE__, #cond,                \
				regbuf_last_error());                     \
			exit(1);                                          \
		}                                                         \
	} while (0)

#define CHECK_EQ(a, b)                                                    \
	do {                                                              \
		long long _a = (long long)(a), _b = (long long)(b);       \
		if (_a != _b) {                                           \
			fprintf(stderr,                                   \
				"%s:%d: %s == %lld, expected %s == %lld " \
				"(%s)\n",                                 \
				__FILE__, __LINE__, #a, _a, #b, _b,       \
				regbuf_last_error());                     \
			exit(1);                                          \
		}                                                         \
	} while (0)

static inline void __attribute__((noreturn, format(printf, 1, 2)))
t_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(T_SKIP);
}

static inline long t_status_kb(const char *field)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	long v = -1;
	size_t n = strlen(field);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static inline long t_vmpin_kb(void)
{
	return t_status_kb("VmPin");
}

static inline int t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static inline int t_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* What the process holds: compared before and after an operation. */
struct t_held {
	long vmpin;
	int fds;
	int maps;
};

/* Under ASan the sanitizer's own allocator maps memory as it goes, so
 * mappings are compared only in normal builds (REGBUF_SANITIZED unset). */
static inline struct t_held t_held_now(void)
{
	struct t_held h = {t_vmpin_kb(), t_count_fds(),
			   getenv("REGBUF_SANITIZED") ? 0 : t_count_maps()};

	return h;
}

static inline int t_held_same(struct t_held a, struct t_held b)
{
	return a.vmpin == b.vmpin && a.fds == b.fds && a.maps == b.maps;
}

/* Closing a ring releases its buffers from a kernel work item, a little
 * after close() returns: give it up to two seconds to settle. Returns what
 * is held then (equal to before unless something leaked). */
static inline struct t_held t_held_settled(struct t_held before)
{
	struct t_held n = t_held_now();

	for (int i = 0; i < 200 && !t_held_same(n, before); i++) {
		usleep(10000);
		n = t_held_now();
	}
	return n;
}

/* VmPin once pending releases settled (up to two seconds), in kB. */
static inline long t_vmpin_settled(long want)
{
	long v = t_vmpin_kb();

	for (int i = 0; i < 200 && v != want; i++) {
		usleep(10000);
		v = t_vmpin_kb();
	}
	return v;
}

#define CHECK_HELD_SAME(before)                                                \
	do {                                                                   \
		struct t_held _n = t_held_settled(before);                     \
		if (!t_held_same(_n, (before))) {                              \
			fprintf(stderr,                                        \
				"%s:%d: leak: VmPin %ld->%ld kB, fds "         \
				"%d->%d, maps %d->%d\n",                       \
				__FILE__, __LINE__, (before).vmpin, _n.vmpin,  \
				(before).fds, _n.fds, (before).maps, _n.maps); \
			exit(1);                                               \
		}                                                              \
	} while (0)

/*
 * Scratch files never outlive their test: they are created unlinked
 * (O_TMPFILE, or unlinked right after creation) in REGBUF_TEST_DIR or
 * "scratch" under the build directory (REGBUF_BUILD, set by tests/run.sh),
 * which .gitignore and `make clean` cover. A test killed in the middle of its
 * I/O leaves nothing behind, in the tree or anywhere else.
 */
static inline int t_not_tmpfs(const char *d)
{
	struct statfs s;

	return !statfs(d, &s) && s.f_type != 0x01021994 /* tmpfs */;
}

/* A directory whose file system takes O_DIRECT (not tmpfs). */
static inline const char *t_scratch_dir(void)
{
	static char dir[4096];
	const char *env = getenv("REGBUF_TEST_DIR");

	if (env && *env)
		return env;
	snprintf(dir, sizeof(dir), "%s/scratch",
		 getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD") : "build");
	if ((mkdir(dir, 0700) == 0 || errno == EEXIST) && t_not_tmpfs(dir))
		return dir;
	return t_not_tmpfs("/var/tmp") ? "/var/tmp" : "/tmp";
}

/* An unlinked regular file opened O_RDWR | extra_flags, sized to size. */
static inline int t_open_scratch(uint64_t size, int extra_flags)
{
	const char *dir = t_scratch_dir();
	int fd = open(dir, O_TMPFILE | O_RDWR | extra_flags, 0600);

	if (fd < 0 && errno != EINVAL) {
		/* no O_TMPFILE here: a name that lives for one call */
		char path[4200];

		snprintf(path, sizeof(path), "%s/regbuf-test-XXXXXX", dir);
		fd = mkostemp(path, extra_flags);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size)) {
		close(fd);
		t_skip("cannot size a test file under %s", dir);
	}
	return fd;
}

/* An unlinked O_DIRECT file of size bytes; skips where that cannot be. */
static inline int t_open_direct(uint64_t size)
{
	int fd = t_open_scratch(size, O_DIRECT);

	if (fd < 0)
		t_skip("the file system under %s does not take O_DIRECT",
		       t_scratch_dir());
	return fd;
}

static inline uint64_t t_free_huge(const char *kb)
{
	char p[128], b[32];
	FILE *f;
	uint64_t v = 0;

	snprintf(p, sizeof(p),
		 "/sys/kernel/mm/hugepages/hugepages-%skB/free_hugepages", kb);
	f = fopen(p, "r");
	if (f && fgets(b, sizeof(b), f))
		v = strtoull(b, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/*
 * Bytes this process may still have charged to RLIMIT_MEMLOCK: the limit
 * less what the user's processes hold already (regbuf_machine_get), or
 * UINT64_MAX where the limit is not enforced (CAP_IPC_LOCK, unlimited).
 */
static inline uint64_t t_memlock_room(void)
{
	struct regbuf_machine m = {.struct_size = sizeof(m)};

	CHECK_EQ(regbuf_machine_get(&m), 0);
	return m.memlock_room;
}

/* What a test's own rings and a pool's anchor ring are charged besides
 * the pool (SQ/CQ memory, charged from 6.13): a generous bound. */
#define T_RING_SLACK (512ULL << 10)

/*
 * The size of a pool for a test about something other than memlock: want
 * where RLIMIT_MEMLOCK is not enforced or leaves room for it (n times)
 * beside keep bytes the test registers elsewhere at the same time,
 * otherwise what the room leaves, in whole units (2 MiB: a huge page is
 * charged whole). t_room_for() returns 0 when the room is below min;
 * t_fit_n() skips the test then, with the reason: it needs privilege.
 */
static inline uint64_t t_room_for(uint64_t want, uint64_t min, uint64_t unit,
				  uint64_t keep, unsigned n)
{
	uint64_t room = t_memlock_room(), got;

	if (room == UINT64_MAX)
		return want;
	got = room > keep + T_RING_SLACK ? room - keep - T_RING_SLACK : 0;
	got /= n;
	got -= got % unit;
	return got >= want ? want : got >= min ? got : 0;
}

static inline uint64_t t_fit_n(uint64_t want, uint64_t min, uint64_t unit,
			       uint64_t keep, unsigned n)
{
	uint64_t room = t_memlock_room(),
		 got = t_room_for(want, min, unit, keep, n);

	if (!got)
		t_skip("RLIMIT_MEMLOCK leaves %llu KiB to register, this test "
		       "needs %llu KiB (raise ulimit -l, or run as root)",
		       (unsigned long long)(room >> 10),
		       (unsigned long long)((n * min + keep + T_RING_SLACK) >>
					    10));
	return got;
}

/* The same for a pool charged n times (attached to rings that register
 * it again: t_charges()). */
static inline uint64_t t_fit(uint64_t want, uint64_t min, uint64_t unit,
			     uint64_t keep)
{
	return t_fit_n(want, min, unit, keep, 1);
}

/* How often a pool attached to rings rings is charged: once where attach
 * clones, once per ring more where it registers again (no clone). */
static inline unsigned t_charges(unsigned rings)
{
	return regbuf_attach_cost_class() == REGBUF_ATTACH_COST_REGISTER
		       ? rings + 1
		       : 1;
}

/* Is RLIMIT_MEMLOCK enforced on this process (no CAP_IPC_LOCK, a limit)? */
static inline int t_memlock_enforced(void)
{
	return t_memlock_room() != UINT64_MAX;
}

/* A forked child holding every fd of this process (its rings too) until
 * t_hold_end(). */
struct t_hold {
	pid_t pid;
	int fd;
};

static inline struct t_hold t_hold_fork(void)
{
	int go[2];
	pid_t pid;

	CHECK_EQ(pipe(go), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		char c;

		close(go[1]);
		_exit(read(go[0], &c, 1) < 0);
	}
	close(go[0]);
	return (struct t_hold){pid, go[1]};
}

static inline void t_hold_end(struct t_hold h)
{
	int st;

	close(h.fd);
	CHECK_EQ(waitpid(h.pid, &st, 0), h.pid);
}

static inline int t_io_uring_ok(void)
{
	struct regbuf_features f = {.struct_size = sizeof(f)};

	regbuf_features_get(&f);
	return f.io_uring == REGBUF_IO_URING_AVAILABLE;
}

/* The buffer table of ring fd from /proc/self/fdinfo: from "UserBufs:"
 * up to the next section (the rest has counters that move); "" when the
 * ring has no table section. */
static inline void t_ring_table(int fd, char *out, size_t n)
{
	char path[64];
	FILE *f;
	size_t got;
	char *u;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	out[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	got = fread(out, 1, n - 1, f);
	out[got] = '\0';
	fclose(f);
	u = strstr(out, "UserBufs:");
	if (!u) {
		out[0] = '\0';
		return;
	}
	memmove(out, u, strlen(u) + 1);
	u = strstr(out, "PollList");
	if (u)
		*u = '\0';
}

/* Buffers in ring fd's table (-1: no table); the line after "UserBufs:"
 * (slot 0) goes to first_line when it is not NULL. */
static inline long t_ring_bufs(int fd, char *first_line, size_t n)
{
	static char table[1 << 16];
	long nbufs = -1;

	if (first_line)
		first_line[0] = '\0';
	t_ring_table(fd, table, sizeof(table));
	if (sscanf(table, "UserBufs: %ld", &nbufs) == 1 && first_line) {
		const char *nl = strchr(table, '\n');

		if (nl) {
			size_t len = strcspn(nl + 1, "\n") + 1;

			snprintf(first_line, n, "%.*s", (int)len, nl + 1);
		}
	}
	return nbufs;
}

/* Run a shell command line; its output goes to out (NUL-terminated).
 * Returns the exit status, or -1 if it did not exit. */
static inline int t_popen(char *out, size_t n, const char *cmdline)
{
	FILE *p = popen(cmdline, "r");
	size_t got;
	int st;

	if (!p) {
		fprintf(stderr, "popen(%s) failed\n", cmdline);
		exit(1);
	}
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The C library keeps thread stacks and malloc arenas after a join: let it
 * make them for n concurrent threads before a "held" snapshot. */
static pthread_barrier_t t_warm_bar;

static void *t_warm_one(void *arg)
{
	char *volatile p = malloc(4096 + (size_t)(intptr_t)arg);

	if (p)
		p[0] = 1;
	pthread_barrier_wait(&t_warm_bar); /* all at once: one arena each */
	free(p);
	return NULL;
}

static inline void t_warm_threads(int n)
{
	pthread_t th[64];

	pthread_barrier_init(&t_warm_bar, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, t_warm_one,
					(void *)(intptr_t)i),
			 0);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&t_warm_bar);
}

/* Deterministic pattern for data checks. */
static inline void t_fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p, x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

static inline int t_verify(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (w[i] != x)
			return 0;
	}
	return 1;
}

#endif
