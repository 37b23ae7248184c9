/* SPDX-License-Identifier: MIT */
/*
 * Stress: for a few seconds (REGBUF_STRESS_SECONDS, default 3) threads at
 * once create and close rings, attach and detach (or just close), allocate
 * and free buffers of random sizes, run verified WRITE_FIXED/READ_FIXED
 * round trips, create and destroy short-lived pools, and hold buffers
 * that they check for overlap with everybody else's. At the end VmPin,
 * fds and mappings are back where they started.
 */
#include <liburing.h>
#include <pthread.h>

#include "harness.h"
#include "ring.h"

#define IO_THREADS 3
#define SLICE	   (4 << 20) /* file bytes per I/O thread */

static struct regbuf_pool *pool;
/* The pools' sizes: 64 MiB and 4 MiB, or what RLIMIT_MEMLOCK leaves; in
 * a small pool the buffers alloc_thread holds are capped so that the I/O
 * threads' always fit. */
static uint64_t pool_size, churn_size, hold_cap = UINT64_MAX;
/* I/O buffers are 1 to 64 pages, or 33 to 64 in a small pool: above every
 * size class, so that no I/O thread's cache holds class spans the others
 * then lack (a thread's cache keeps the blocks it freed) */
static unsigned io_min_pages = 1;
static int file_fd;
static int stop; /* read and written with __atomic */
static unsigned long rounds[IO_THREADS + 2];

/*
 * Where RLIMIT_MEMLOCK is enforced, what a closed ring held (its own
 * SQ/CQ memory, and the pool a ring still attached kept pinned) is given
 * back from a kernel work item a little after the close, so a ring, pool or
 * attach made right after may not fit yet: try again for up to 2 s (counted).
 */
static unsigned long waits;

static int ring_init(unsigned entries, struct io_uring *ring)
{
	int ret;

	for (int i = 0;
	     (ret = io_uring_queue_init(entries, ring, 0)) == -ENOMEM &&
	     t_memlock_enforced() && i < 200;
	     i++) {
		__atomic_add_fetch(&waits, 1, __ATOMIC_RELAXED);
		usleep(10000);
	}
	return ret;
}

static int pool_create(const struct regbuf_pool_opts *o, struct regbuf_pool **p)
{
	int ret;

	for (int i = 0; (ret = regbuf_pool_create(o, p)) == -ENOMEM &&
			t_memlock_enforced() && i < 200;
	     i++) {
		__atomic_add_fetch(&waits, 1, __ATOMIC_RELAXED);
		usleep(10000);
	}
	return ret;
}

/* The same for an attach that registers again (no clone before 6.12): it
 * charges the pool once more, beside the charges closed rings still hold. */
static int pool_attach(struct regbuf_pool *p, int ring_fd)
{
	int ret;

	for (int i = 0; (ret = regbuf_pool_attach(p, ring_fd, 0)) == -ENOMEM &&
			t_memlock_enforced() && i < 200;
	     i++) {
		__atomic_add_fetch(&waits, 1, __ATOMIC_RELAXED);
		usleep(10000);
	}
	return ret;
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void *io_thread(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t x = 0x1234567ULL * (uint64_t)(id + 1);

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct io_uring ring;
		struct regbuf_buf w, r;
		size_t len = (size_t)(4096 * (io_min_pages +
					      rnd(&x) % (65 - io_min_pages)));
		uint64_t off = (uint64_t)id * SLICE + 4096 * (rnd(&x) % 256);
		uint64_t seed = rnd(&x);

		if (off + len > (uint64_t)(id + 1) * SLICE)
			off = (uint64_t)(id + 1) * SLICE - len;
		CHECK_EQ(ring_init(4, &ring), 0);
		CHECK(pool_attach(pool, ring.ring_fd) > 0);
		CHECK_EQ(regbuf_alloc(pool, len, 0, &w), 0);
		CHECK_EQ(regbuf_alloc(pool, len, 0, &r), 0);
		CHECK(w.slot >= 0 && r.slot >= 0);
		t_fill(w.addr, len, seed);
		CHECK_EQ(t_write_fixed(&ring, file_fd, w.addr, (unsigned)len,
				       off, w.slot),
			 (int)len);
		memset(r.addr, 0, len);
		CHECK_EQ(t_read_fixed(&ring, file_fd, r.addr, (unsigned)len,
				      off, r.slot),
			 (int)len);
		CHECK(t_verify(r.addr, len, seed));
		CHECK_EQ(regbuf_free(pool, &w), 0);
		CHECK_EQ(regbuf_free(pool, &r), 0);
		/* Half the time detach first, otherwise just close (the
		 * pool forgets the ring when its fd number comes back). */
		if (rnd(&x) & 1)
			CHECK_EQ(regbuf_pool_detach(pool, ring.ring_fd), 0);
		io_uring_queue_exit(&ring);
		rounds[id]++;
	}
	return NULL;
}

/* Holds up to 64 buffers, each tagged with its own address in every
 * word; any overlap with another live buffer breaks some tag. */
static void *alloc_thread(void *arg)
{
	struct regbuf_buf live[64];
	uint64_t x = 99, held = 0;
	unsigned n = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (n == 64 || (n && rnd(&x) % 3 == 0)) {
			unsigned k = (unsigned)(rnd(&x) % n);
			uint64_t *q = live[k].addr;

			for (size_t i = 0; i < live[k].len / 8; i++)
				CHECK_EQ(q[i], (uint64_t)(uintptr_t)q);
			held -= live[k].len;
			CHECK_EQ(regbuf_free(pool, &live[k]), 0);
			live[k] = live[--n];
		} else {
			size_t len = (size_t)(512 + rnd(&x) % (300 << 10));
			uint64_t *q;

			if (held + len > hold_cap ||
			    regbuf_alloc(pool, len, 0, &live[n]))
				continue; /* exhausted for now: fine */
			q = live[n].addr;
			for (size_t i = 0; i < len / 8; i++)
				q[i] = (uint64_t)(uintptr_t)q;
			held += len;
			n++;
		}
		rounds[IO_THREADS]++;
	}
	while (n)
		CHECK_EQ(regbuf_free(pool, &live[--n]), 0);
	return NULL;
}

/* Short-lived pools of every cheap backing, each attached to a ring. */
static void *pool_thread(void *arg)
{
	static const int backings[] = {
		REGBUF_BACKING_AUTO, REGBUF_BACKING_PAGES, REGBUF_BACKING_THP};
	unsigned i = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct regbuf_pool_opts o;
		struct regbuf_pool *p;
		struct io_uring ring;
		struct regbuf_buf b;

		regbuf_pool_opts_init(&o);
		o.size = churn_size;
		o.backing = backings[i++ % 3];
		CHECK_EQ(pool_create(&o, &p), 0);
		CHECK_EQ(ring_init(2, &ring), 0);
		CHECK(pool_attach(p, ring.ring_fd) > 0);
		CHECK_EQ(regbuf_alloc(p, 65536, 0, &b), 0);
		memset(b.addr, 1, 65536);
		CHECK_EQ(regbuf_free(p, &b), 0);
		if (i & 1)
			CHECK_EQ(regbuf_pool_detach(p, ring.ring_fd), 0);
		regbuf_pool_destroy(p); /* i even: ring still attached */
		io_uring_queue_exit(&ring);
		rounds[IO_THREADS + 1]++;
	}
	return NULL;
}

int main(void)
{
	pthread_t th[IO_THREADS + 2];
	struct regbuf_pool_opts o;
	struct t_held start;
	const char *env = getenv("REGBUF_STRESS_SECONDS");
	double secs = env ? atof(env) : 3;

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	file_fd = t_open_direct((uint64_t)IO_THREADS * SLICE);
	t_warm_threads(IO_THREADS + 2);
	start = t_held_now();
	/* beside each other, each attached to rings that may register it
	 * again (t_charges): the churned pool to one, this one to three */
	churn_size = t_fit_n(4 << 20, 2 << 20, 2 << 20, 4 << 20, t_charges(1));
	pool_size = t_fit_n(64 << 20, 4 << 20, 1 << 20,
			    churn_size * t_charges(1), t_charges(IO_THREADS));
	regbuf_pool_opts_init(&o);
	o.size = pool_size;
	o.max_slot_size = 8 << 20; /* several slots */
	if (pool_size < (64 << 20)) {
		/* one slot of 4 KiB pages: nothing lost to slot ends */
		o.backing = REGBUF_BACKING_PAGES;
		o.max_slot_size = 0;
		hold_cap = pool_size / 8;
		io_min_pages = 33;
	}
	CHECK_EQ(regbuf_pool_create(&o, &pool), 0);
	for (int i = 0; i < IO_THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, io_thread,
					(void *)(intptr_t)i),
			 0);
	CHECK_EQ(pthread_create(&th[IO_THREADS], NULL, alloc_thread, NULL), 0);
	CHECK_EQ(pthread_create(&th[IO_THREADS + 1], NULL, pool_thread, NULL),
		 0);
	usleep((useconds_t)(secs * 1e6));
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < IO_THREADS + 2; i++)
		pthread_join(th[i], NULL);
	{
		struct regbuf_alloc_stats st = {.struct_size = sizeof(st)};
		struct regbuf_pool_info info = {.struct_size = sizeof(info)};

		CHECK_EQ(regbuf_alloc_stats(pool, &st), 0);
		CHECK_EQ(st.bytes_in_use, 0u);
		CHECK_EQ(st.nr_bad_frees, 0u);
		CHECK_EQ(regbuf_pool_info(pool, &info), 0);
		CHECK_EQ(info.nr_attached, 0u);
	}
	regbuf_pool_destroy(pool);
	CHECK_HELD_SAME(start);
	close(file_fd);
	printf("  %.1f s: %lu verified ring round trips (3 threads), %lu "
	       "alloc/free steps, %lu pools created and destroyed; nothing "
	       "held after\n",
	       secs, rounds[0] + rounds[1] + rounds[2], rounds[IO_THREADS],
	       rounds[IO_THREADS + 1]);
	if (waits)
		printf("  RLIMIT_MEMLOCK: %lu times a ring, pool or attach waited 10 ms "
		       "for what closed rings still held\n",
		       waits);
	for (int i = 0; i < IO_THREADS + 2; i++)
		CHECK(rounds[i] > 0);
	return 0;
}
