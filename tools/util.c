/* SPDX-License-Identifier: MIT */
/* Small helpers of the CLI: sizes, time, a pool's slots, scratch files. */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "regbuf %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(regbuf help %s shows its options)\n", cmd);
	return 2;
}

int64_t parse_size(const char *s)
{
	char *end;
	double v;
	int64_t mul = 1;

	if (!s || !*s)
		return -1;
	v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		mul = 1LL << 10;
		break;
	case 'm':
		mul = 1LL << 20;
		break;
	case 'g':
		mul = 1LL << 30;
		break;
	case 't':
		mul = 1LL << 40;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (*end && end[1] && strcasecmp(end + 1, "ib") &&
	    strcasecmp(end + 1, "b"))
		return -1;
	return (int64_t)(v * (double)mul);
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

unsigned pool_slot_iovecs(struct regbuf_pool *pool, struct iovec *iov,
			  unsigned max)
{
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	unsigned n;

	if (regbuf_pool_info(pool, &info))
		return 0;
	for (n = 0; n < info.nr_registered_slots && n < max; n++) {
		struct regbuf_slot_info s = {.struct_size = sizeof(s)};

		regbuf_pool_slot(pool, n, &s);
		iov[n].iov_base = (char *)regbuf_pool_base(pool) + s.offset;
		iov[n].iov_len = s.len;
	}
	return n;
}

bool takes_direct(const char *dir)
{
	struct statfs s;

	return !statfs(dir, &s) && s.f_type != 0x01021994 /* tmpfs */;
}

const char *direct_dir(const char *want)
{
	static const char *const c[] = {".", "/var/tmp", "/tmp"};

	if (want)
		return want;
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (takes_direct(c[i]) && !access(c[i], W_OK))
			return c[i];
	return ".";
}

int scratch_file(const char *dir, int flags)
{
	char path[4200];
	int fd = open(dir, O_TMPFILE | O_RDWR | flags, 0600);

	if (fd >= 0 || errno == EINVAL)
		return fd;
	snprintf(path, sizeof(path), "%s/regbuf-scratch-XXXXXX", dir);
	fd = mkostemp(path, flags);
	if (fd >= 0)
		unlink(path);
	return fd;
}
