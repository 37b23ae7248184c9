/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks share: medians, notes, iovecs over a range, one
 * registration timed, sizes fitted to hugepages and RLIMIT_MEMLOCK.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "regbuf/liburing.h"

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void note(const struct opts *o, const char *fmt, const char *a)
{
	fprintf(o->json ? stderr : stdout, fmt, a);
}

/* iovecs of at most 1 GiB over [p, p + len). */
unsigned gib_iovecs(void *p, uint64_t len, struct iovec *iov, unsigned max)
{
	unsigned n = 0;

	for (uint64_t off = 0; off < len && n < max; off += 1ULL << 30) {
		iov[n].iov_base = (char *)p + off;
		iov[n].iov_len =
			len - off < (1ULL << 30) ? len - off : 1ULL << 30;
		n++;
	}
	return n;
}

double time_register(const struct iovec *iov, unsigned n)
{
	struct io_uring ring;
	double t0, ms;

	if (io_uring_queue_init(1, &ring, 0))
		return -1;
	t0 = now_ms();
	if (io_uring_register_buffers(&ring, iov, n)) {
		io_uring_queue_exit(&ring);
		return -1;
	}
	ms = now_ms() - t0;
	io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	return ms;
}

/* Largest size <= want that the backing can hold now, registered copies
 * times at once within what RLIMIT_MEMLOCK leaves (in whole 2 MiB: a huge
 * page is charged whole; the rings' own memory needs a little more). */
uint64_t fit_size(const struct opts *o, uint64_t want, int backing,
		  unsigned copies)
{
	struct regbuf_machine m = {.struct_size = sizeof(m)};
	uint64_t cap = want, huge, slack = 512 << 10;
	char a[32];

	regbuf_machine_get(&m);
	if (backing == REGBUF_BACKING_HUGE_2M) {
		huge = m.huge_2m.free * (2ULL << 20);
		cap = huge < want ? huge : want;
	} else if (backing == REGBUF_BACKING_HUGE_1G) {
		huge = m.huge_1g.free << 30;
		cap = huge < want ? huge : want;
	}
	if (m.memlock_room != UINT64_MAX) {
		uint64_t room =
			m.memlock_room > slack ? m.memlock_room - slack : 0;

		room = (room / copies) & ~((2ULL << 20) - 1);
		if (cap > room)
			cap = room;
	}
	if (cap < want)
		note(o, "note: using %s, all this machine can give now\n",
		     rb_fmt_size(cap, a, sizeof(a)));
	return cap;
}

/* The one sentence for a benchmark that RLIMIT_MEMLOCK cannot hold. */
int memlock_short(const char *bench, uint64_t need, uint64_t got)
{
	char a[32], b[32];

	fprintf(stderr,
		"bench %s: needs %s of registered memory, RLIMIT_MEMLOCK "
		"leaves room for %s: raise it (ulimit -l, LimitMEMLOCK=) or "
		"grant CAP_IPC_LOCK\n",
		bench, rb_fmt_size(need, a, sizeof(a)),
		rb_fmt_size(got, b, sizeof(b)));
	return 1;
}
