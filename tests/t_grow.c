/* SPDX-License-Identifier: MIT */
/*
 * Growing pools: regbuf_pool_grow() adds a registered chunk and every
 * attached ring receives its slots (fixed I/O into the new memory through
 * each ring, verified); rings attached later get the whole pool; a
 * GROWABLE pool grows by itself when regbuf_alloc() runs out, from several
 * threads at once, never handing out overlapping memory; limits and bad
 * input change nothing; every system call of a growth fails in turn and
 * the pool, the rings and the process are as they were.
 */
#include <liburing.h>
#include <pthread.h>

#include "harness.h"
#include "alloc.h"
#include "ring.h"
#include "sys.h"

#define MIB (1ULL << 20)

static bool ranges;
static int file_fd;
/*
 * Sizes are in units of U: 1 MiB, or where RLIMIT_MEMLOCK is enforced
 * 256 KiB on 4 KiB pages, so that every pool here and its growth fit the
 * distribution's 8 MiB (the growth itself is what is tested, at any
 * scale). PER: buffers of U each of 4 threads takes in auto_grow, from a
 * pool of 4 U that may grow to AUTO_MAX.
 */
static uint64_t U = MIB, AUTO_MAX = 128 * MIB;
static unsigned PER = 24;
static int backing = REGBUF_BACKING_AUTO;

static struct regbuf_pool *growable(uint64_t size, uint64_t max)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;

	regbuf_pool_opts_init(&o);
	o.size = size;
	o.max_size = max;
	o.flags = REGBUF_POOL_GROWABLE;
	o.backing = backing;
	o.max_slot_size = 4 * U;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	return p;
}

/* Write and read back 64 KiB at addr through ring slot base_slot + its
 * pool slot. */
static void io_at(struct io_uring *ring, struct regbuf_pool *p, char *addr,
		  unsigned base_slot, uint64_t seed)
{
	struct regbuf_slot_info si = {.struct_size = sizeof(si)};
	int s = regbuf_pool_slot_of(p, addr, &si);

	CHECK(s >= 0 && si.registered);
	t_fill(addr, 65536, seed);
	CHECK_EQ(t_write_fixed(ring, file_fd, addr, 65536, 0,
			       (int)base_slot + s),
		 65536);
	memset(addr, 0, 65536);
	CHECK_EQ(
		t_read_fixed(ring, file_fd, addr, 65536, 0, (int)base_slot + s),
		65536);
	CHECK(t_verify(addr, 65536, seed));
}

/* Before 6.13 a ring's table cannot grow: give the ring room up front
 * (empty slots), the way an application would. */
static void room(struct io_uring *r, unsigned n)
{
	struct iovec *iov = calloc(n, sizeof(*iov));

	CHECK(iov);
	CHECK_EQ(io_uring_register_buffers(r, iov, n), 0);
	free(iov);
}

static void explicit_grow(void)
{
	struct t_held start = t_held_now();
	struct regbuf_pool *p = growable(8 * U, 64 * U);
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct io_uring r[3], late;
	unsigned first[3] = {0, 10, 40};
	unsigned nr0, nr1;
	char *base = regbuf_pool_base(p);
	int s;

	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	nr0 = info.nr_slots;
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(io_uring_queue_init(4, &r[i], 0), 0);
		if (!ranges)
			room(&r[i], 64);
		CHECK(regbuf_pool_attach(p, r[i].ring_fd, first[i]) > 0);
	}
	s = regbuf_pool_grow(p, 16 * U);
	CHECK_EQ(s, (int)nr0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	nr1 = info.nr_slots;
	CHECK(info.size >= 24 * U && nr1 > nr0);
	CHECK_EQ(info.nr_registered_slots, nr1);
	for (int i = 0; i < 3; i++) {
		if (ranges)
			CHECK_EQ(t_ring_bufs(r[i].ring_fd, NULL, 0),
				 (long)(first[i] + nr1));
		/* old and new memory through every ring */
		io_at(&r[i], p, base + 65536, first[i], 1 + (uint64_t)i);
		io_at(&r[i], p, base + 8 * U + 65536 * (unsigned)i, first[i],
		      10 + (uint64_t)i);
	}
	/* a ring attached now gets both anchors' slots */
	CHECK_EQ(io_uring_queue_init(4, &late, 0), 0);
	CHECK(regbuf_pool_attach(p, late.ring_fd, 0) > 0);
	io_at(&late, p, base + 20 * U, 0, 77);
	/* limits and bad input change nothing */
	CHECK_EQ(regbuf_pool_grow(p, 64 * U), -ENOSPC);
	CHECK_EQ(regbuf_pool_grow(p, 0), -EINVAL);
	CHECK_EQ(regbuf_pool_grow(NULL, U), -EINVAL);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK_EQ(info.nr_slots, nr1);
	/* detach empties every slot, old and new */
	CHECK_EQ(regbuf_pool_detach(p, r[1].ring_fd), 0);
	if (ranges)
		CHECK_EQ(t_ring_bufs(r[1].ring_fd, NULL, 0),
			 (long)(first[1] + nr1));
	regbuf_pool_destroy(p);
	for (int i = 0; i < 3; i++)
		io_uring_queue_exit(&r[i]);
	io_uring_queue_exit(&late);
	CHECK_HELD_SAME(start);
	printf("  grew %llu -> %llu KiB: %u -> %u slots, 3 attached rings "
	       "and a late one do verified fixed I/O in old and new memory\n",
	       (unsigned long long)(8 * U >> 10),
	       (unsigned long long)(info.size >> 10), nr0, nr1);
}

/* Without room in an attached ring's table (kernels before 6.13), the
 * growth is refused and nothing changes. */
static void refused_without_room(void)
{
	struct regbuf_pool *p;
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct io_uring r;
	struct t_held before;
	unsigned nr0;

	if (ranges)
		return;
	p = growable(8 * U, 64 * U);
	CHECK_EQ(io_uring_queue_init(4, &r, 0), 0);
	CHECK(regbuf_pool_attach(p, r.ring_fd, 0) > 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	nr0 = info.nr_slots;
	before = t_held_now();
	CHECK_EQ(regbuf_pool_grow(p, 8 * U), -ENOSPC);
	CHECK(strstr(regbuf_last_error(), "cannot take slots"));
	CHECK_HELD_SAME(before);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK_EQ(info.nr_slots, nr0);
	CHECK_EQ(t_ring_bufs(r.ring_fd, NULL, 0), (long)nr0);
	regbuf_pool_detach(p, r.ring_fd);
	io_uring_queue_exit(&r);
	regbuf_pool_destroy(p);
	printf("  no clone ranges here: a ring without room refuses the "
	       "growth, nothing changed\n");
}

struct hammer {
	struct regbuf_pool *p;
	int id;
	unsigned allocs;
	char why[320]; /* the failing call's error, if one failed */
};

static pthread_barrier_t all_held;

static void *grow_hammer(void *arg)
{
	struct hammer *h = arg;
	struct regbuf_buf b[24];
	unsigned n = 0;

	/* PER x U per thread, 4 threads: 96 MiB from a 4 MiB pool (root) */
	for (unsigned i = 0; i < PER; i++) {
		uint64_t *q;

		int ret = regbuf_alloc(h->p, U, 0, &b[n]);

		if (ret) {
			snprintf(h->why, sizeof(h->why), "alloc %u: %s (%s)", i,
				 strerror(-ret), regbuf_last_error());
			break;
		}
		q = b[n].addr;
		for (size_t k = 0; k < U / 8; k += 512)
			q[k] = (uint64_t)(uintptr_t)q ^ (uint64_t)h->id;
		n++;
	}
	pthread_barrier_wait(&all_held); /* 4 PER U live at once */
	for (unsigned i = 0; i < n; i++) {
		uint64_t *q = b[i].addr;

		for (size_t k = 0; k < U / 8; k += 512)
			CHECK_EQ(q[k],
				 (uint64_t)(uintptr_t)q ^ (uint64_t)h->id);
		CHECK_EQ(regbuf_free(h->p, &b[i]), 0);
	}
	h->allocs = n;
	return NULL;
}

static void auto_grow(void)
{
	struct t_held start = (t_warm_threads(4), t_held_now());
	struct regbuf_pool *p = growable(4 * U, AUTO_MAX);
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct hammer h[4];
	pthread_t th[4];
	struct regbuf_buf b;
	unsigned total = 0;

	pthread_barrier_init(&all_held, NULL, 4);
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){.p = p, .id = i};
		CHECK_EQ(pthread_create(&th[i], NULL, grow_hammer, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += h[i].allocs;
		if (h[i].why[0])
			fprintf(stderr, "thread %d: %s\n", i, h[i].why);
	}
	if (total != 4 * PER) {
		CHECK_EQ(regbuf_pool_info(p, &info), 0);
		fprintf(stderr,
			"pool: %llu bytes, %u slots, %u registered, %u chunks; notes: %s\n",
			(unsigned long long)info.size, info.nr_slots,
			info.nr_registered_slots, info.nr_chunks, info.notes);
	}
	CHECK_EQ(total, 4 * PER);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	if (info.size < 4 * PER * U || info.size > AUTO_MAX) {
		fprintf(stderr, "grew to %llu bytes\n",
			(unsigned long long)info.size);
		exit(1);
	}
	CHECK_EQ(info.nr_registered_slots, info.nr_slots);
	/* at max_size it stops growing: -ENOMEM, not a crash; more than a
	 * slot can ever hold is bad input */
	while (!regbuf_alloc(p, 4 * U, 0, &b))
		;
	CHECK(strstr(regbuf_last_error(), "exhausted"));
	CHECK_EQ(regbuf_alloc(p, 4 * U + 1, 0, &b), -EINVAL);
	regbuf_pool_destroy(p);
	CHECK_HELD_SAME(start);
	printf("  4 threads took %u x %llu KiB from a %llu KiB GROWABLE pool: "
	       "it grew to %llu KiB in %u chunks, no overlap, stops at "
	       "max_size\n",
	       4 * PER, (unsigned long long)(U >> 10),
	       (unsigned long long)(4 * U >> 10),
	       (unsigned long long)(info.size >> 10), info.nr_chunks);
}

static void bad_options(void)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p = NULL;

	regbuf_pool_opts_init(&o);
	o.size = 4 * MIB;
	o.max_size = 8 * MIB; /* without GROWABLE */
	CHECK_EQ(regbuf_pool_create(&o, &p), -EINVAL);
	o.flags = REGBUF_POOL_GROWABLE;
	o.max_size = MIB; /* below size */
	CHECK_EQ(regbuf_pool_create(&o, &p), -EINVAL);
	o.max_size = 8 * MIB;
	o.flags |= REGBUF_POOL_SHARED;
	CHECK_EQ(regbuf_pool_create(&o, &p), -EINVAL);
	o.flags = 0;
	o.max_size = 0;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_grow(p, MIB), -EINVAL); /* not GROWABLE */
	regbuf_pool_destroy(p);
	printf("  bad growth options refused\n");
}

/* What another thread can do between a growth and the grower's own
 * allocation: take all the new memory. The grower grows again and is
 * served (it used to fail with the pool still far from max_size). */
static struct regbuf_buf stolen[16];
static unsigned nr_stolen, steals_left;

static void steal_all(struct regbuf_pool *p)
{
	if (!steals_left)
		return;
	steals_left--;
	while (nr_stolen < 16 && !rb_alloc_raw(p, U, 0, &stolen[nr_stolen]))
		nr_stolen++;
}

static void grown_then_taken(void)
{
	struct t_held start = t_held_now();
	struct regbuf_pool *p = growable(4 * U, 64 * U);
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct regbuf_buf full[4], b;

	for (int i = 0; i < 4; i++)
		CHECK_EQ(regbuf_alloc(p, U, 0, &full[i]), 0);
	nr_stolen = 0;
	steals_left = 1;
	rb_grow_hook = steal_all;
	CHECK_EQ(regbuf_alloc(p, U, 0, &b), 0);
	rb_grow_hook = NULL;
	/* Each growth adds the pool's size, at least 2 MiB (grow_for): with
	 * U = 1 MiB the first 4 MiB are all taken, the next 8 serve it. */
	{
		uint64_t first = 4 * U > (2 << 20) ? 4 * U : 2 << 20;
		uint64_t second =
			4 * U + first > (2 << 20) ? 4 * U + first : 2 << 20;

		CHECK_EQ(nr_stolen, first / U); /* all taken */
		CHECK_EQ(regbuf_pool_info(p, &info), 0);
		CHECK_EQ(info.size, 4 * U + first + second);
	}
	CHECK_EQ(info.nr_registered_slots, info.nr_slots);
	CHECK_EQ(regbuf_free(p, &b), 0);
	for (unsigned i = 0; i < nr_stolen; i++)
		CHECK_EQ(regbuf_free(p, &stolen[i]), 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(regbuf_free(p, &full[i]), 0);
	regbuf_pool_destroy(p);
	CHECK_HELD_SAME(start);
	printf("  another thread took a growth's new memory before the "
	       "grower: the pool grew again and served it\n");
}

/* Every system call of a growth fails in turn: nothing changes. */
static void faults(void)
{
	unsigned long c0[RB_SYS_NR], n[RB_SYS_NR], points = 0, failed = 0;
	struct io_uring r;
	struct regbuf_pool *p;

	for (int k = 0; k < RB_SYS_NR; k++)
		c0[k] = rb_sys_count(k, -1);
	p = growable(4 * U, 64 * U);
	CHECK_EQ(io_uring_queue_init(4, &r, 0), 0);
	if (!ranges)
		room(&r, 64);
	CHECK(regbuf_pool_attach(p, r.ring_fd, 0) > 0);
	for (int k = 0; k < RB_SYS_NR; k++)
		c0[k] = rb_sys_count(k, -1);
	CHECK(regbuf_pool_grow(p, 4 * U) > 0);
	for (int k = 0; k < RB_SYS_NR; k++)
		n[k] = rb_sys_count(k, -1) - c0[k];
	regbuf_pool_destroy(p);
	io_uring_queue_exit(&r);

	for (int k = 0; k < RB_SYS_NR; k++)
		for (unsigned long nth = 1; nth <= n[k]; nth++) {
			struct regbuf_pool_info a = {.struct_size = sizeof(a)};
			struct regbuf_pool_info b = {.struct_size = sizeof(b)};
			struct t_held before;
			long bufs;
			int ret;

			/* 6.1 unpins the last iteration's pool in a
			 * worker: let it finish before the snapshot */
			t_vmpin_settled(0);
			p = growable(4 * U, 64 * U);
			CHECK_EQ(io_uring_queue_init(4, &r, 0), 0);
			if (!ranges)
				room(&r, 64);
			CHECK(regbuf_pool_attach(p, r.ring_fd, 0) > 0);
			CHECK_EQ(regbuf_pool_info(p, &a), 0);
			bufs = t_ring_bufs(r.ring_fd, NULL, 0);
			before = t_held_now();
			rb_sys_fault(k, -1, nth, ENOMEM);
			ret = regbuf_pool_grow(p, 4 * U);
			rb_sys_fault_clear();
			points++;
			if (ret < 0) {
				failed++;
				CHECK(regbuf_last_error()[0]);
				CHECK_HELD_SAME(before);
				CHECK_EQ(regbuf_pool_info(p, &b), 0);
				CHECK(a.size == b.size &&
				      a.nr_slots == b.nr_slots &&
				      a.nr_chunks == b.nr_chunks &&
				      a.nr_registered_slots ==
					      b.nr_registered_slots);
				CHECK_EQ(t_ring_bufs(r.ring_fd, NULL, 0), bufs);
				io_at(&r, p, regbuf_pool_base(p), 0, 5);
			}
			regbuf_pool_destroy(p);
			io_uring_queue_exit(&r);
		}
	printf("  %lu fault points in a growth: %lu failed cleanly, the rest "
	       "absorbed; pool, ring and process unchanged\n",
	       points, failed);
	CHECK(points >= 3);
}

int main(void)
{
	struct regbuf_features f = {.struct_size = sizeof(f)};

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	regbuf_features_get(&f);
	ranges = f.features & REGBUF_FEAT_CLONE_RANGES;
	if (t_memlock_enforced()) {
		U = 256 << 10;
		backing = REGBUF_BACKING_PAGES;
		PER = 4;
		AUTO_MAX = 24 * U;
	}
	file_fd = t_open_direct(4 * U);
	bad_options();
	explicit_grow();
	refused_without_room();
	auto_grow();
	grown_then_taken();
	faults();
	close(file_fd);
	return 0;
}
