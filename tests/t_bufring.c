/* SPDX-License-Identifier: MIT */
/*
 * Managed buffer rings on the real kernel: receives over a socketpair land
 * in pool memory that is then written with WRITE_FIXED; full and empty
 * rings, out-of-order recycling, ENOBUFS and recovery (recycle, grow,
 * multishot re-arm), incremental consumption with and without min_left,
 * bundles, a ring living in kernel pages, bad input, injected faults, and
 * destroy with buffers still held. Every check of "nothing left" compares
 * VmPin, fds and mappings.
 */
#include <liburing.h>
#include <sys/socket.h>

#include "harness.h"
#include "ring.h"
#include "sys.h"
#include "uapi.h"

#include "regbuf/liburing.h"

static struct regbuf_pool *pool;
static struct io_uring ring;
static int sv[2]; /* sv[1] is written by the test, sv[0] received on */
static struct regbuf_features feat = {.struct_size = sizeof(feat)};

/* The pattern of seed, any length, at any alignment. */
static void mk(void *p, size_t len, uint64_t seed)
{
	static char tmp[1 << 16];

	t_fill(tmp, len + 8, seed);
	memcpy(p, tmp, len);
}

/* The first len bytes are the pattern of seed. */
static bool same(const void *p, size_t len, uint64_t seed)
{
	static char want[1 << 16];

	mk(want, len, seed);
	return !memcmp(p, want, len);
}

static void send_all(const void *p, size_t n)
{
	CHECK_EQ(write(sv[1], p, n), (ssize_t)n);
}

static void wait_one(int *res, unsigned *flags)
{
	struct io_uring_cqe *cqe;

	CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
	*res = cqe->res;
	*flags = cqe->flags;
	io_uring_cqe_seen(&ring, cqe);
}

/* One plain receive of what is already queued on the socket. */
static int recv_one(struct regbuf_bufring *br, unsigned len,
		    struct regbuf_buf *b)
{
	unsigned fl;
	int res, n;

	regbuf_prep_recv_select(io_uring_get_sqe(&ring), sv[0], br, len, 0);
	CHECK_EQ(io_uring_submit(&ring), 1);
	wait_one(&res, &fl);
	n = regbuf_bufring_take(br, res, fl, b, 1);
	return n < 0 ? n : res;
}

static struct regbuf_bufring_stats stats(struct regbuf_bufring *br)
{
	struct regbuf_bufring_stats st = {.struct_size = sizeof(st)};

	CHECK_EQ(regbuf_bufring_stats(br, &st), 0);
	return st;
}

/* Receive into the ring, then WRITE_FIXED that very memory to a file and
 * read it back: the received buffer is a registered buffer. */
static void received_is_fixed(void)
{
	struct regbuf_bufring *br;
	struct regbuf_buf b;
	char msg[3000], back[3000];
	int fd;

	CHECK_EQ(regbuf_bufring_create(pool, ring.ring_fd, 7, 8, 4096, 0, &br),
		 0);
	mk(msg, sizeof(msg), 11);
	send_all(msg, sizeof(msg));
	CHECK_EQ(recv_one(br, 0, &b), (int)sizeof(msg));
	CHECK(b.len == sizeof(msg) && b.slot >= 0 &&
	      (b.flags & REGBUF_BUF_RING));
	CHECK(!memcmp(b.addr, msg, sizeof(msg)));
	/* buffered: the message is not a whole block */
	fd = t_open_scratch(0, 0);
	CHECK(fd >= 0);
	CHECK_EQ(t_write_fixed(&ring, fd, b.addr, (unsigned)b.len, 0, b.slot),
		 (int)b.len);
	CHECK_EQ(pread(fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	CHECK(!memcmp(back, msg, sizeof(msg)));
	close(fd);
	CHECK_EQ(regbuf_bufring_recycle(br, &b), 0);
	/* recycled twice, or a forged handle */
	CHECK_EQ(regbuf_bufring_recycle(br, &b), -EINVAL);
	b.cookie = 12345;
	b.flags = REGBUF_BUF_RING;
	CHECK_EQ(regbuf_bufring_recycle(br, &b), -EINVAL);
	CHECK_EQ(regbuf_bufring_destroy(br), 0);
	printf("  received %zu bytes into bid %u, WRITE_FIXED them from slot "
	       "%d\n",
	       sizeof(msg), b.bid, b.slot);
}

/* Empty the ring (hold every buffer), see ENOBUFS, recycle out of order
 * and get the buffers back in the order they were recycled. */
static void full_empty_order(void)
{
	struct regbuf_bufring *br;
	struct regbuf_buf b[4], x;
	struct regbuf_bufring_stats st;
	static const int order[4] = {2, 0, 3, 1};
	char c = 'a';

	CHECK_EQ(regbuf_bufring_create(pool, ring.ring_fd, 8, 4, 4096, 0, &br),
		 0);
	CHECK_EQ(stats(br).in_kernel, 4u);
	for (int i = 0; i < 4; i++) {
		send_all(&c, 1);
		CHECK_EQ(recv_one(br, 0, &b[i]), 1);
		CHECK_EQ(b[i].bid, (unsigned)i); /* ring order at start */
	}
	st = stats(br);
	CHECK(st.in_kernel == 0 && st.held == 4);
	send_all(&c, 1);
	CHECK_EQ(recv_one(br, 0, &x), -ENOBUFS);
	CHECK_EQ(stats(br).dry, 1u);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(regbuf_bufring_recycle(br, &b[order[i]]), 0);
	CHECK_EQ(stats(br).in_kernel, 4u);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(recv_one(br, 0, &b[i]), 1);
		CHECK_EQ(b[i].bid, (unsigned)order[i]);
		if (i < 3)
			send_all(&c, 1);
	}
	for (int i = 0; i < 4; i++)
		CHECK_EQ(regbuf_bufring_recycle(br, &b[i]), 0);
	st = stats(br);
	CHECK(st.taken == 8 && st.recycled == 8 && st.held == 0);
	CHECK_EQ(regbuf_bufring_destroy(br), 0);
	printf("  ring full/empty: ENOBUFS counted, out-of-order recycling "
	       "returns buffers in recycle order\n");
}

/* Multishot receive runs dry, ends, and is re-armed with one call after
 * recycling; with GROW the second group takes over without recycling. */
static void multishot_dry(bool grow)
{
	struct regbuf_bufring_opts o;
	struct regbuf_bufring *br;
	struct regbuf_buf held[8];
	unsigned nheld = 0, fl;
	uint64_t got = 0;
	char msg[1000];
	int res, n;

	regbuf_bufring_opts_init(&o);
	o.bgid = 20;
	o.nbufs = 4;
	o.buf_size = 1024;
	o.flags = grow ? REGBUF_BUFRING_GROW : 0;
	CHECK_EQ(regbuf_bufring_create_opts(pool, ring.ring_fd, &o, &br), 0);
	CHECK_EQ(regbuf_bufring_rearm(&ring, br, sv[0], 1), 0);
	CHECK_EQ(io_uring_submit(&ring), 1);
	/* Five messages, one at a time so each is its own receive. */
	for (int i = 0; i < 5; i++) {
		mk(msg, sizeof(msg), 100 + (uint64_t)i);
		send_all(msg, sizeof(msg));
		wait_one(&res, &fl);
		if (i < 4) {
			CHECK(fl & IORING_CQE_F_MORE);
			CHECK_EQ(regbuf_bufring_take(br, res, fl, &held[nheld],
						     1),
				 1);
			CHECK(same(held[nheld].addr, held[nheld].len,
				   100 + (uint64_t)i));
			got += held[nheld++].len;
			continue;
		}
		/* The fifth finds no buffer: the multishot ends. */
		CHECK_EQ(res, -ENOBUFS);
		CHECK(!(fl & IORING_CQE_F_MORE));
		CHECK_EQ(regbuf_bufring_take(br, res, fl, &held[nheld], 1),
			 -ENOBUFS);
	}
	if (grow) {
		CHECK_EQ(stats(br).groups, 2u);
		CHECK_EQ(regbuf_bufring_bgid(br), 21);
	} else {
		CHECK_EQ(regbuf_bufring_recycle(br, &held[--nheld]), 0);
		CHECK_EQ(regbuf_bufring_bgid(br), 20);
	}
	/* Re-armed: the queued fifth message arrives. */
	CHECK_EQ(regbuf_bufring_rearm(&ring, br, sv[0], 2), 0);
	CHECK_EQ(io_uring_submit(&ring), 1);
	wait_one(&res, &fl);
	CHECK_EQ(res, (int)sizeof(msg));
	n = regbuf_bufring_take(br, res, fl, &held[nheld], 1);
	CHECK_EQ(n, 1);
	CHECK(same(held[nheld].addr, held[nheld].len, 104));
	if (grow)
		CHECK(held[nheld].bid >= 4);
	nheld++;
	CHECK_EQ(stats(br).dry, 1u);
	for (unsigned i = 0; i < nheld; i++)
		CHECK_EQ(regbuf_bufring_recycle(br, &held[i]), 0);
	/* End the multishot: shut the sending side's stream. Older kernels
	 * (6.1) end a multishot receive as soon as its last buffer is used,
	 * before any more data (-ENOBUFS without F_MORE): re-arm, go on. */
	shutdown(sv[1], SHUT_WR);
	for (;;) {
		wait_one(&res, &fl);
		if (res != -ENOBUFS)
			break;
		CHECK(!(fl & IORING_CQE_F_MORE));
		CHECK_EQ(regbuf_bufring_take(br, res, fl, held, 1), -ENOBUFS);
		CHECK_EQ(regbuf_bufring_rearm(&ring, br, sv[0], 3), 0);
		CHECK_EQ(io_uring_submit(&ring), 1);
	}
	CHECK_EQ(res, 0);
	CHECK_EQ(regbuf_bufring_take(br, res, fl, held, 1), 0);
	CHECK_EQ(stats(br).held, 0u);
	CHECK_EQ(regbuf_bufring_destroy(br), 0);
	/* a fresh socket pair for the next case */
	close(sv[0]);
	close(sv[1]);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	printf("  multishot ran dry after %llu bytes, %s, re-armed with one "
	       "call\n",
	       (unsigned long long)got,
	       grow ? "grew a second group" : "recycled one buffer");
}

/* Incremental: several receives share one buffer, pieces follow each
 * other, and the buffer returns to the kernel only after the kernel is done
 * with it and every piece was recycled. */
static void incremental(uint32_t min_left)
{
	struct regbuf_bufring_opts o;
	struct regbuf_bufring *br;
	struct regbuf_buf p[4];
	char msg[100];
	int n;

	regbuf_bufring_opts_init(&o);
	o.bgid = 30;
	o.nbufs = 2;
	o.buf_size = 256;
	o.flags = REGBUF_BUFRING_INC;
	o.min_left = min_left;
	CHECK_EQ(regbuf_bufring_create_opts(pool, ring.ring_fd, &o, &br), 0);
	CHECK(stats(br).flags & REGBUF_BUFRING_INC);
	for (n = 0; n < 3; n++) {
		mk(msg, sizeof(msg), 200 + (uint64_t)n);
		send_all(msg, sizeof(msg));
		CHECK(recv_one(br, 0, &p[n]) > 0);
		CHECK_EQ(p[n].bid, 0);
		if (n)
			CHECK(p[n].addr ==
			      (char *)p[n - 1].addr + p[n - 1].len);
		if (!(p[n].flags & REGBUF_BUF_MORE))
			break;
	}
	if (min_left) {
		/* 200 used, 56 left < 64: retired after the second. */
		CHECK_EQ(n, 1);
		CHECK_EQ(p[1].len, 100u);
	} else {
		/* 100 + 100 + the 56 that fit; the rest goes to bid 1. */
		CHECK_EQ(n, 2);
		CHECK_EQ(p[2].len, 56u);
		CHECK(same(p[2].addr, 56, 202));
	}
	CHECK(same(p[0].addr, 100, 200));
	CHECK(same(p[1].addr, 100, 201));
	CHECK_EQ(stats(br).in_kernel, 1u);
	/* recycle all but the first piece: still held */
	for (int i = n; i >= 1; i--)
		CHECK_EQ(regbuf_bufring_recycle(br, &p[i]), 0);
	CHECK_EQ(stats(br).in_kernel, 1u);
	CHECK_EQ(regbuf_bufring_recycle(br, &p[0]), 0);
	CHECK_EQ(stats(br).in_kernel, 2u);
	if (!min_left) {
		CHECK_EQ(recv_one(br, 0, &p[0]), 44);
		CHECK_EQ(p[0].bid, 1);
		CHECK_EQ(regbuf_bufring_recycle(br, &p[0]), 0);
	}
	CHECK_EQ(regbuf_bufring_destroy(br), 0);
	printf("  incremental%s: %d receives shared one buffer, reposted "
	       "after the last piece\n",
	       min_left ? " with min_left 64" : "", n + 1);
}

/* A bundle fills several buffers in ring order with one completion. */
static void bundle(void)
{
	struct regbuf_bufring *br;
	struct regbuf_buf b[8];
	char msg[10000];
	unsigned fl;
	int res, n;
	size_t pos = 0;

	CHECK_EQ(regbuf_bufring_create(pool, ring.ring_fd, 40, 8, 4096, 0, &br),
		 0);
	mk(msg, sizeof(msg), 300);
	send_all(msg, sizeof(msg));
	{
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		CHECK(sqe);
		CHECK_EQ(regbuf_prep_recv_bundle(sqe, sv[0], br), 0);
		CHECK_EQ(sqe->ioprio & IORING_RECVSEND_BUNDLE,
			 IORING_RECVSEND_BUNDLE);
		CHECK_EQ(io_uring_submit(&ring), 1);
	}
	wait_one(&res, &fl);
	if (res == -EINVAL) {
		printf("  bundles: not supported by this kernel\n");
		regbuf_bufring_destroy(br);
		/* drain the socket for the next case */
		for (size_t left = sizeof(msg); left;) {
			ssize_t r = read(sv[0], msg, left);

			CHECK(r > 0);
			left -= (size_t)r;
		}
		return;
	}
	CHECK(res > 4096);
	CHECK_EQ(regbuf_bufring_take(br, res, fl, b, 1), -EMSGSIZE);
	CHECK_EQ(stats(br).taken, 0u);
	n = regbuf_bufring_take(br, res, fl, b, 8);
	CHECK(n >= 2);
	for (int i = 0; i < n; i++) {
		CHECK(!memcmp(b[i].addr, msg + pos, b[i].len));
		pos += b[i].len;
	}
	CHECK_EQ(pos, (size_t)res);
	printf("  bundle: %d bytes in %d buffers with one completion\n", res,
	       n);
	/* Destroy with all of them held: documented, nothing leaks. */
	CHECK_EQ(regbuf_bufring_destroy(br), 0);
	/* drain what is left on the socket */
	while (pos < sizeof(msg)) {
		ssize_t r = read(sv[0], msg, sizeof(msg));

		CHECK(r > 0);
		pos += (size_t)r;
	}
}

/* Every system call of create fails in turn: nothing is left behind. */
static void faults(struct regbuf_pool *in, uint32_t nbufs, const char *what)
{
	struct regbuf_bufring *br;
	unsigned long calls[RB_SYS_NR], points = 0;
	int errs[] = {ENOMEM, EFAULT, EPERM};

	for (int k = 0; k < RB_SYS_NR; k++)
		calls[k] = rb_sys_count(k, -1);
	CHECK_EQ(regbuf_bufring_create(in, ring.ring_fd, 70, nbufs, 4096,
				       REGBUF_BUFRING_INC, &br),
		 0);
	CHECK_EQ(regbuf_bufring_destroy(br), 0);
	for (int k = 0; k < RB_SYS_NR; k++) {
		unsigned long n = rb_sys_count(k, -1) - calls[k];

		for (unsigned long nth = 1; nth <= n; nth++) {
			struct t_held before = t_held_now();
			int ret;

			rb_sys_fault(k, -1, nth, errs[nth % 3]);
			ret = regbuf_bufring_create(in, ring.ring_fd, 70, nbufs,
						    4096, REGBUF_BUFRING_INC,
						    &br);
			rb_sys_fault_clear();
			points++;
			if (!ret)
				CHECK_EQ(regbuf_bufring_destroy(br), 0);
			else
				CHECK(regbuf_last_error()[0]);
			CHECK_HELD_SAME(before);
		}
	}
	printf("  %lu fault points in bufring create (%s), nothing "
	       "leaked\n",
	       points, what);
	CHECK(points >= 2);
}

/* When the pool has no page left for the ring entries, the kernel's own
 * pages are used (IOU_PBUF_RING_MMAP). */
static void kernel_ring(void)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *small;
	struct regbuf_bufring *br;
	struct regbuf_buf fill, b;
	char c = 'k';

	regbuf_pool_opts_init(&o);
	o.size = 2 << 20;
	o.backing = REGBUF_BACKING_PAGES;
	CHECK_EQ(regbuf_pool_create(&o, &small), 0);
	CHECK_EQ(regbuf_alloc(small, (2 << 20) - 64 * 1024, 0, &fill), 0);
	CHECK_EQ(regbuf_bufring_create(small, ring.ring_fd, 50, 16, 4096, 0,
				       &br),
		 0);
	CHECK_EQ(stats(br).ring_in_pool, 0u);
	send_all(&c, 1);
	CHECK_EQ(recv_one(br, 0, &b), 1);
	CHECK_EQ(*(char *)b.addr, 'k');
	CHECK_EQ(regbuf_bufring_recycle(br, &b), 0);
	/* no room for a second one */
	{
		struct regbuf_bufring *none = NULL;

		CHECK_EQ(regbuf_bufring_create(small, ring.ring_fd, 51, 16,
					       4096, 0, &none),
			 -ENOMEM);
		CHECK(!none);
	}
	CHECK_EQ(regbuf_bufring_destroy(br), 0);
	faults(small, 16, "ring outside the pool");
	regbuf_free(small, &fill);
	regbuf_pool_destroy(small);
	printf("  ring entries outside the pool when it is full (kernel pages "
	       "on 6.4+, our own before)\n");
}

/* The documented order is bufring, then pool; the other order must not
 * touch freed memory (ASan watches) nor leave anything behind. */
static void pool_first(void)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *x;
	struct regbuf_bufring *br;
	struct t_held before = t_held_now();

	regbuf_pool_opts_init(&o);
	o.size = 2 << 20;
	CHECK_EQ(regbuf_pool_create(&o, &x), 0);
	CHECK_EQ(regbuf_bufring_create(x, ring.ring_fd, 80, 8, 4096, 0, &br),
		 0);
	regbuf_pool_destroy(x);
	CHECK_EQ(regbuf_bufring_destroy(br), 0);
	CHECK_HELD_SAME(before);
	printf("  pool destroyed before its bufring: bufring destroy still "
	       "clean\n");
}

static void bad_input(void)
{
	struct regbuf_bufring_opts o;
	struct regbuf_bufring *br = NULL, *dup;
	struct t_held before = t_held_now();
	int devnull = open("/dev/null", O_RDONLY);
	struct {
		const char *what;
		int fd;
		uint16_t bgid;
		uint32_t nbufs, size, flags;
		int want;
	} cases[] = {
		{"nbufs 0", ring.ring_fd, 1, 0, 4096, 0, -EINVAL},
		{"nbufs 3", ring.ring_fd, 1, 3, 4096, 0, -EINVAL},
		{"nbufs 65536", ring.ring_fd, 1, 65536, 4096, 0, -EINVAL},
		{"buffer size 0", ring.ring_fd, 1, 4, 0, 0, -EINVAL},
		{"buffer larger than a slot", ring.ring_fd, 1, 4,
		 (64u << 20) + 4096, 0, -EINVAL},
		{"unknown flags", ring.ring_fd, 1, 4, 4096, 1u << 9, -EINVAL},
		{"closed fd", 1000, 1, 4, 4096, 0, -EBADF},
		{"negative fd", -1, 1, 4, 4096, 0, -EBADF},
		{"not io_uring", devnull, 1, 4, 4096, 0, -EBADF},
		{"pool too small", ring.ring_fd, 1, 32768, 1 << 20, 0, -ENOMEM},
		{"bgid in use", ring.ring_fd, 60, 4, 4096, 0, -EEXIST},
	};

	CHECK_EQ(
		regbuf_bufring_create(pool, ring.ring_fd, 60, 4, 4096, 0, &dup),
		0);
	before = t_held_now();
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = regbuf_bufring_create(
			pool, cases[i].fd, cases[i].bgid, cases[i].nbufs,
			cases[i].size, cases[i].flags, &br);

		if (ret != cases[i].want) {
			fprintf(stderr, "%s: got %d want %d (%s)\n",
				cases[i].what, ret, cases[i].want,
				regbuf_last_error());
			exit(1);
		}
		CHECK(br == NULL && regbuf_last_error()[0]);
		CHECK_HELD_SAME(before);
	}
	CHECK_EQ(regbuf_bufring_create(NULL, ring.ring_fd, 1, 4, 4096, 0, &br),
		 -EINVAL);
	CHECK_EQ(regbuf_bufring_create(pool, ring.ring_fd, 1, 4, 4096, 0, NULL),
		 -EINVAL);
	regbuf_bufring_opts_init(&o);
	o.nbufs = 4;
	o.buf_size = 4096;
	o.reserved[1] = 1;
	CHECK_EQ(regbuf_bufring_create_opts(pool, ring.ring_fd, &o, &br),
		 -EINVAL);
	o.reserved[1] = 0;
	o.struct_size = 4;
	CHECK_EQ(regbuf_bufring_create_opts(pool, ring.ring_fd, &o, &br),
		 -EINVAL);
	o.struct_size = sizeof(o);
	o.min_left = 16; /* without INC */
	CHECK_EQ(regbuf_bufring_create_opts(pool, ring.ring_fd, &o, &br),
		 -EINVAL);
	o.min_left = 0;
	o.flags = REGBUF_BUFRING_GROW;
	o.nbufs = 32768;
	o.max_groups = 3; /* 98304 bids */
	CHECK_EQ(regbuf_bufring_create_opts(pool, ring.ring_fd, &o, &br),
		 -EINVAL);
	CHECK_HELD_SAME(before);
	/* take: a bid that is not in the kernel, bad arguments */
	{
		struct regbuf_buf b;

		CHECK_EQ(regbuf_bufring_take(dup, 10,
					     IORING_CQE_F_BUFFER | (3u << 16),
					     &b, 1),
			 1);
		CHECK_EQ(regbuf_bufring_take(dup, 10,
					     IORING_CQE_F_BUFFER | (3u << 16),
					     &b, 1),
			 -EINVAL);
		CHECK_EQ(regbuf_bufring_take(dup, 10,
					     IORING_CQE_F_BUFFER | (9u << 16),
					     &b, 1),
			 -EINVAL);
		CHECK_EQ(regbuf_bufring_take(NULL, 10, 0, &b, 1), -EINVAL);
		CHECK_EQ(regbuf_bufring_take(dup, 10, 0, NULL, 1), -EINVAL);
		CHECK_EQ(regbuf_bufring_take(dup, -EIO, 0, &b, 1), -EIO);
		CHECK_EQ(regbuf_bufring_recycle(dup, &b), 0);
	}
	CHECK_EQ(regbuf_bufring_destroy(dup), 0);
	CHECK_EQ(regbuf_bufring_destroy(NULL), -EINVAL);
	CHECK_EQ(regbuf_bufring_bgid(NULL), -EINVAL);
	close(devnull);
	printf("  bad input: %zu create cases refused, nothing held\n",
	       sizeof(cases) / sizeof(cases[0]) + 5);
}

int main(void)
{
	struct regbuf_pool_opts o;
	struct t_held start;

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	regbuf_features_get(&feat);
	if (!(feat.features & REGBUF_FEAT_PBUF_RING))
		t_skip("no provided-buffer rings on this kernel (5.19+)");
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ(io_uring_queue_init(16, &ring, 0), 0);
	start = t_held_now();
	regbuf_pool_opts_init(&o);
	/* 64 MiB, or what RLIMIT_MEMLOCK leaves beside the 2 MiB pools below
	 * and this one again where attach registers (no clone) */
	o.size = t_fit(64 << 20, 2 << 20, 2 << 20, 4 << 20);
	CHECK_EQ(regbuf_pool_create(&o, &pool), 0);
	CHECK(regbuf_pool_attach(pool, ring.ring_fd, 0) > 0);

	received_is_fixed();
	full_empty_order();
	multishot_dry(false);
	multishot_dry(true);
	if (feat.features & REGBUF_FEAT_PBUF_INC) {
		incremental(0);
		if (feat.features & REGBUF_FEAT_MIN_LEFT)
			incremental(64);
		else
			printf("  min_left: not in this kernel\n");
	} else {
		struct regbuf_bufring *br;

		/* refused when required, a plain ring otherwise */
		CHECK_EQ(
			regbuf_bufring_create(
				pool, ring.ring_fd, 30, 2, 256,
				REGBUF_BUFRING_INC | REGBUF_BUFRING_REQUIRE_INC,
				&br),
			-EOPNOTSUPP);
		CHECK_EQ(regbuf_bufring_create(pool, ring.ring_fd, 30, 2, 256,
					       REGBUF_BUFRING_INC, &br),
			 0);
		CHECK_EQ(stats(br).flags, 0u);
		CHECK_EQ(regbuf_bufring_destroy(br), 0);
		printf("  incremental: not in this kernel, plain ring used\n");
	}
	bundle();
	kernel_ring();
	pool_first();
	bad_input();
	faults(pool, 64, "ring in the pool");
	{
		struct regbuf_alloc_stats as = {.struct_size = sizeof(as)};

		CHECK_EQ(regbuf_alloc_stats(pool, &as), 0);
		CHECK_EQ(as.bytes_in_use, 0u);
	}
	CHECK_EQ(regbuf_pool_detach(pool, ring.ring_fd), 0);
	regbuf_pool_destroy(pool);
	CHECK_HELD_SAME(start);
	io_uring_queue_exit(&ring);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
