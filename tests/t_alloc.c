/* SPDX-License-Identifier: MIT */
/*
 * The allocator: classes and alignment, slot boundaries, exhaustion,
 * double / foreign / forged frees, statistics, a property test against a
 * reference model, and threads hammering it with every byte checked.
 */
#include <pthread.h>
#include <signal.h>

#include "harness.h"
#include "alloc.h" /* rb_debug_build */

/* A free the library must refuse: -EINVAL, or in a REGBUF_DEBUG build an
 * abort (seen in a child). */
static void bad_free(struct regbuf_pool *p, struct regbuf_buf *b)
{
	pid_t pid;
	int st;

	if (!rb_debug_build) {
		CHECK_EQ(regbuf_free(p, b), -EINVAL);
		return;
	}
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		close(2); /* the library's own line */
		regbuf_free(p, b);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

static struct regbuf_pool *mkpool(uint64_t size, uint64_t slot, int backing)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;

	regbuf_pool_opts_init(&o);
	o.size = size;
	o.max_slot_size = slot;
	o.backing = backing;
	o.flags = t_io_uring_ok() ? 0 : REGBUF_POOL_NO_REGISTER;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	return p;
}

static void check_in_slot(struct regbuf_pool *p, const struct regbuf_buf *b)
{
	struct regbuf_slot_info s = {.struct_size = sizeof(s)};
	uint64_t off =
		(uint64_t)((char *)b->addr - (char *)regbuf_pool_base(p));
	unsigned idx = b->slot >= 0 ? (unsigned)b->slot : 0;

	if (b->slot < 0)
		return;
	CHECK_EQ(regbuf_pool_slot(p, idx, &s), 0);
	CHECK(off >= s.offset && off + b->len <= s.offset + s.len);
}

/* Pools are sized from RLIMIT_MEMLOCK where it is enforced (t_fit): the
 * allocator is the subject here, not the limit. */
static void unit(void)
{
	/* q: 4 MiB, or what is left beside p's one 4 MiB slot */
	uint64_t qs = t_fit(4 << 20, 2 << 20, 1 << 20, 4 << 20);
	struct regbuf_pool *p = mkpool(t_fit(64 << 20, 4 << 20, 4 << 20, qs),
				       4 << 20, REGBUF_BACKING_PAGES);
	struct regbuf_pool *q = mkpool(qs, 0, REGBUF_BACKING_PAGES);
	struct regbuf_alloc_stats st = {.struct_size = sizeof(st)};
	struct regbuf_buf b, c, forged, many[64];
	size_t lens[] = {1,	100,	 512,		4095,	 4096,	 4097,
			 65536, 1 << 20, (1 << 20) + 1, 3 << 20, 4 << 20};

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t al = 512; al <= (2 << 20); al <<= 2) {
			CHECK_EQ(regbuf_alloc(p, lens[i], al, &b), 0);
			CHECK_EQ(b.len, lens[i]);
			CHECK_EQ((uintptr_t)b.addr % al, 0);
			check_in_slot(p, &b);
			memset(b.addr, 0xab, b.len);
			CHECK_EQ(regbuf_free(p, &b), 0);
		}
		CHECK_EQ(regbuf_alloc(p, lens[i], 0, &b), 0);
		CHECK_EQ((uintptr_t)b.addr % 4096, 0); /* O_DIRECT default */
		CHECK_EQ(regbuf_free(p, &b), 0);
	}
	/* Larger than a slot, zero, bad alignment. */
	CHECK_EQ(regbuf_alloc(p, (4 << 20) + 1, 0, &b), -EINVAL);
	CHECK_EQ(regbuf_alloc(p, 0, 0, &b), -EINVAL);
	CHECK_EQ(regbuf_alloc(p, 10, 3, &b), -EINVAL);
	CHECK_EQ(regbuf_alloc(p, 10, 4 << 20, &b), -EINVAL);
	CHECK_EQ(regbuf_alloc(NULL, 10, 0, &b), -EINVAL);
	/* Double free, forged, foreign, freed twice through a copy. */
	CHECK_EQ(regbuf_alloc(p, 8192, 0, &b), 0);
	c = b;
	forged = b;
	forged.addr = (char *)b.addr + 4096;
	bad_free(p, &forged);
	bad_free(q, &c);
	CHECK_EQ(regbuf_free(p, &b), 0);
	bad_free(p, &c);
	forged.cookie ^= 1ULL << 50;
	bad_free(p, &forged);
	/* Large double free. */
	CHECK_EQ(regbuf_alloc(p, 3 << 20, 0, &b), 0);
	c = b;
	CHECK_EQ(regbuf_free(p, &b), 0);
	bad_free(p, &c);
	CHECK_EQ(regbuf_alloc_stats(p, &st), 0);
	CHECK_EQ(st.nr_bad_frees, rb_debug_build ? 0 : 4);
	CHECK_EQ(regbuf_alloc_stats(q, &st), 0);
	CHECK_EQ(st.nr_bad_frees, rb_debug_build ? 0 : 1);
	CHECK_EQ(st.bytes_in_use, 0);
	/* Exhaustion returns -ENOMEM without blocking, then recovers. */
	{
		unsigned n = 0;
		int ret;

		while ((ret = regbuf_alloc(q, 1 << 20, 0, &many[n])) == 0)
			n++;
		CHECK_EQ(ret, -ENOMEM);
		CHECK_EQ(n, qs >> 20);
		CHECK_EQ(regbuf_alloc_stats(q, &st), 0);
		CHECK_EQ(st.bytes_in_use, qs);
		CHECK(st.nr_failed >= 1);
		CHECK(st.peak_bytes >= qs);
		for (unsigned i = 0; i < n; i++)
			CHECK_EQ(regbuf_free(q, &many[i]), 0);
		CHECK_EQ(regbuf_alloc(q, 1 << 20, 0, &b), 0);
		CHECK_EQ(regbuf_free(q, &b), 0);
	}
	regbuf_pool_destroy(q);
	regbuf_pool_destroy(p);
	printf("  classes, alignment, slots, exhaustion, bad frees\n");
}

/* Random alloc/free against a model of live intervals. */
static void property(void)
{
	struct regbuf_pool *p = mkpool(t_fit(32 << 20, 4 << 20, 1 << 20, 0),
				       8 << 20, REGBUF_BACKING_PAGES);
	struct regbuf_buf live[256];
	unsigned n = 0;
	uint64_t x = 12345, inuse = 0;

	for (int step = 0; step < 20000; step++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (n && (x % 3 == 0 || n == 256)) {
			unsigned k = (unsigned)(x >> 8) % n;

			CHECK_EQ(regbuf_free(p, &live[k]), 0);
			live[k] = live[--n];
			continue;
		}
		size_t len =
			1 + (size_t)((x >> 16) % (x & 1 ? 8192 : (3 << 20)));
		size_t al = (size_t)1 << (9 + (x >> 40) % 10);
		struct regbuf_buf b;
		int ret = regbuf_alloc(p, len, al, &b);

		if (ret == -ENOMEM)
			continue;
		CHECK_EQ(ret, 0);
		CHECK_EQ((uintptr_t)b.addr % al, 0);
		check_in_slot(p, &b);
		for (unsigned i = 0; i < n; i++) {
			char *a0 = b.addr, *a1 = a0 + b.len;
			char *b0 = live[i].addr, *b1 = b0 + live[i].len;

			CHECK(a1 <= b0 || b1 <= a0);
		}
		live[n++] = b;
	}
	for (unsigned i = 0; i < n; i++)
		inuse += live[i].len;
	{
		struct regbuf_alloc_stats st = {.struct_size = sizeof(st)};

		CHECK_EQ(regbuf_alloc_stats(p, &st), 0);
		CHECK_EQ(st.requested_bytes, inuse);
	}
	while (n)
		CHECK_EQ(regbuf_free(p, &live[--n]), 0);
	regbuf_pool_destroy(p);
	printf("  20000 random operations agree with the model\n");
}

struct th {
	struct regbuf_pool *p;
	int id, ok;
	unsigned long ops;
};

static void *hammer(void *arg)
{
	struct th *t = arg;
	struct regbuf_buf live[32];
	unsigned char tag[32];
	uint64_t x = (uint64_t)t->id * 7919 + 1;
	unsigned n = 0;

	t->ok = 1;
	for (int i = 0; i < 200000 && t->ok; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (n == 32 || (n && x % 2)) {
			unsigned k = (unsigned)(x >> 10) % n;
			const unsigned char *c = live[k].addr;

			/* Nobody else wrote into our buffer. */
			for (size_t j = 0; j < live[k].len; j += 61)
				if (c[j] != tag[k])
					t->ok = 0;
			if (regbuf_free(t->p, &live[k]))
				t->ok = 0;
			live[k] = live[--n];
			tag[k] = tag[n];
			continue;
		}
		size_t len = 1 + (size_t)((x >> 20) % (x & 4 ? 4096 : 262144));

		if (regbuf_alloc(t->p, len, 0, &live[n]))
			continue;
		tag[n] = (unsigned char)(t->id * 37 + i);
		memset(live[n].addr, tag[n], live[n].len);
		n++;
		t->ops++;
	}
	while (n)
		regbuf_free(t->p, &live[--n]);
	return NULL;
}

static void threads(void)
{
	struct regbuf_pool *p = mkpool(t_fit(64 << 20, 2 << 20, 2 << 20, 0), 0,
				       REGBUF_BACKING_AUTO);
	struct th t[4];
	pthread_t th[4];
	struct regbuf_alloc_stats st = {.struct_size = sizeof(st)};

	for (int i = 0; i < 4; i++) {
		t[i] = (struct th){.p = p, .id = i};
		pthread_create(&th[i], NULL, hammer, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(t[i].ok);
	}
	CHECK_EQ(regbuf_alloc_stats(p, &st), 0);
	CHECK_EQ(st.nr_bad_frees, 0);
	CHECK_EQ(st.bytes_in_use, 0);
	CHECK_EQ(st.nr_allocs, st.nr_frees);
	regbuf_pool_destroy(p);
	printf("  4 threads, %lu allocations, no overlap, every byte checked\n",
	       t[0].ops + t[1].ops + t[2].ops + t[3].ops);
}

/* Statistics keep what threads that have exited did. */
static void *pairs(void *arg)
{
	struct regbuf_pool *p = arg;
	struct regbuf_buf b;

	for (int i = 0; i < 250; i++) {
		CHECK_EQ(regbuf_alloc(p, 4096, 0, &b), 0);
		CHECK_EQ(regbuf_free(p, &b), 0);
	}
	return NULL;
}

static void stats_complete(void)
{
	struct regbuf_pool *p = mkpool(t_fit(8 << 20, 5 << 20, 1 << 20, 0), 0,
				       REGBUF_BACKING_PAGES);
	struct regbuf_alloc_stats st = {.struct_size = sizeof(st)};
	struct regbuf_buf small, big;
	pthread_t th[4];

	for (int i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, pairs, p), 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);
	CHECK_EQ(regbuf_alloc_stats(p, &st), 0);
	CHECK_EQ(st.nr_allocs, 1000u);
	CHECK_EQ(st.nr_frees, 1000u);
	CHECK_EQ(st.bytes_in_use, 0u);
	/* a small and a large (4 MiB) registered allocation: both fixed */
	CHECK_EQ(regbuf_alloc(p, 4096, 0, &small), 0);
	CHECK_EQ(regbuf_alloc(p, 4 << 20, 0, &big), 0);
	CHECK_EQ(regbuf_alloc_stats(p, &st), 0);
	if (t_io_uring_ok()) {
		CHECK(small.slot >= 0 && big.slot >= 0);
		CHECK_EQ(st.fixed_allocs, 1002u);
		CHECK_EQ(st.fallback_allocs, 0u);
	} else {
		CHECK_EQ(st.fallback_allocs, 1002u);
	}
	CHECK_EQ(st.nr_allocs, st.fixed_allocs + st.fallback_allocs);
	CHECK_EQ(regbuf_free(p, &small), 0);
	CHECK_EQ(regbuf_free(p, &big), 0);
	regbuf_pool_destroy(p);
	printf("  stats: 1000 pairs by 4 exited threads all counted; a 4 KiB "
	       "and a 4 MiB buffer both counted as fixed\n");
}

/* A stale copy of a handle is refused, and the block's new owner keeps
 * its buffer; for class blocks and large buffers, in this thread and
 * another. */
struct stale_arg {
	struct regbuf_pool *p;
	size_t len;
	struct regbuf_buf got;
};

static void *alloc_in_thread(void *arg)
{
	struct stale_arg *s = arg;

	CHECK_EQ(regbuf_alloc(s->p, s->len, 0, &s->got), 0);
	return NULL;
}

static void stale_handles(void)
{
	static const size_t lens[] = {512, 4096, 64 << 10, 3 << 20};
	struct regbuf_pool *p = mkpool(t_fit(8 << 20, 4 << 20, 1 << 20, 0), 0,
				       REGBUF_BACKING_PAGES);

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct stale_arg s = {.p = p, .len = lens[i]};
		struct regbuf_buf b, copy;
		pthread_t th;

		CHECK_EQ(regbuf_alloc(p, lens[i], 0, &b), 0);
		copy = b;
		CHECK_EQ(regbuf_free(p, &b), 0);
		/* another thread gets the same block (it is the only one of
		 * its size free, or the first in address order) */
		if (lens[i] > (1 << 20)) {
			CHECK_EQ(pthread_create(&th, NULL, alloc_in_thread, &s),
				 0);
			CHECK_EQ(pthread_join(th, NULL), 0);
		} else {
			CHECK_EQ(regbuf_alloc(p, lens[i], 0, &s.got), 0);
		}
		CHECK(s.got.addr == copy.addr);
		bad_free(p, &copy);
		CHECK(rb_debug_build || strstr(regbuf_last_error(), "stale"));
		CHECK_EQ(regbuf_free(p, &s.got), 0);
	}
	regbuf_pool_destroy(p);
	printf("  stale copies of freed handles refused for 512 B .. 3 MiB; "
	       "the new owners freed their buffers\n");
}

/* After churn an emptied pool serves any size up to its largest slot. */
static void churn_then_any_size(void)
{
	static const size_t sizes[] = {512,    1024,	4096,	 8192,
				       16384,  65536,	131072,	 262144,
				       524288, 1 << 20, 3 << 20, 2 << 20};
	uint64_t pools[] = {2 << 20, 4 << 20,
			    t_fit(16 << 20, 4 << 20, 1 << 20, 0)};

	for (unsigned k = 0; k < 3; k++) {
		struct regbuf_pool *p =
			mkpool(pools[k], 0, REGBUF_BACKING_PAGES);
		struct regbuf_buf b[64];
		struct regbuf_alloc_stats st = {.struct_size = sizeof(st)};
		unsigned refused = 0;

		/* every size, several at once, then all freed */
		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]);
		     i++) {
			unsigned n = 0;

			while (n < 64 && !regbuf_alloc(p, sizes[i], 0, &b[n]))
				n++;
			while (n)
				CHECK_EQ(regbuf_free(p, &b[--n]), 0);
		}
		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]);
		     i++) {
			if (sizes[i] > pools[k]) {
				CHECK_EQ(regbuf_alloc(p, sizes[i], 0, &b[0]),
					 -EINVAL);
				continue;
			}
			if (regbuf_alloc(p, sizes[i], 0, &b[0])) {
				fprintf(stderr, "%llu MiB pool: %zu refused\n",
					(unsigned long long)(pools[k] >> 20),
					sizes[i]);
				refused++;
				continue;
			}
			CHECK_EQ(regbuf_free(p, &b[0]), 0);
		}
		CHECK_EQ(refused, 0u);
		/* the whole pool in one piece again */
		CHECK_EQ(regbuf_alloc(p, pools[k], 0, &b[0]), 0);
		CHECK_EQ(regbuf_free(p, &b[0]), 0);
		CHECK_EQ(regbuf_alloc_stats(p, &st), 0);
		CHECK_EQ(st.bytes_in_use, 0u);
		regbuf_pool_destroy(p);
	}
	printf("  2, 4 and %llu MiB pools: after every size was used and "
	       "freed, every size fits again, the whole pool included\n",
	       (unsigned long long)(pools[2] >> 20));
}

/*
 * A size class in use holds 128 KiB spans, not 2 MiB: one live block of
 * each of the nine classes leaves all but nine spans of a 2 MiB pool to a
 * single buffer. A buffer lies against the shorter neighbour of its hole,
 * so that what is left of the hole touches the longer one and joins it
 * when it is freed.
 */
static void small_spans_and_placement(void)
{
	struct regbuf_pool *p = mkpool(2 << 20, 0, REGBUF_BACKING_PAGES), *q;
	struct regbuf_buf cls[9], a, b, c, d, small;
	uint64_t qs;
	char *base;

	for (unsigned i = 0; i < 9; i++)
		CHECK_EQ(regbuf_alloc(p, 512u << i, 512u << i, &cls[i]), 0);
	CHECK_EQ(regbuf_alloc(p, (2 << 20) - 9 * (128 << 10), 0, &a), 0);
	CHECK_EQ(regbuf_alloc(p, 4096, 0, &small), 0); /* its class's span */
	CHECK_EQ(regbuf_free(p, &a), 0);
	CHECK_EQ(regbuf_free(p, &small), 0);
	for (unsigned i = 0; i < 9; i++)
		CHECK_EQ(regbuf_free(p, &cls[i]), 0);
	regbuf_pool_destroy(p);

	/*
	 * qs = 8 MiB (7 MiB at least): a (1 MiB) takes the bottom of the
	 * empty slot (two equal edges); b (3 MiB) the top (the slot's edge
	 * is shorter than a); c (2 MiB) lies against a, the shorter
	 * neighbour, so the qs - 6 MiB left touch b. Freeing b then leaves
	 * one hole of qs - 3 MiB: a buffer that long fits. (From the bottom,
	 * c would have left qs - 6 and 3 MiB in two holes.)
	 */
	qs = t_fit(8 << 20, 7 << 20, 1 << 20, 0);
	q = mkpool(qs, 0, REGBUF_BACKING_PAGES);
	base = regbuf_pool_base(q);
	CHECK_EQ(regbuf_alloc(q, 1 << 20, 0, &a), 0);
	CHECK_EQ(regbuf_alloc(q, 3 << 20, 0, &b), 0);
	CHECK_EQ(regbuf_alloc(q, 2 << 20, 0, &c), 0);
	CHECK(a.addr == base);
	CHECK(b.addr == base + qs - (3 << 20));
	CHECK(c.addr == base + (1 << 20));
	CHECK_EQ(regbuf_free(q, &b), 0);
	CHECK_EQ(regbuf_alloc(q, qs - (3 << 20), 0, &d), 0);
	CHECK(d.addr == base + (3 << 20));
	/* A span takes the top of its hole: here the only hole is gone, so
	 * the pool is full. */
	CHECK_EQ(regbuf_alloc(q, 4096, 0, &small), -ENOMEM);
	CHECK_EQ(regbuf_free(q, &c), 0);
	CHECK_EQ(regbuf_alloc(q, 4096, 0, &small), 0);
	CHECK((char *)small.addr >= base + (3 << 20) - (128 << 10) &&
	      (char *)small.addr < base + (3 << 20));
	CHECK_EQ(regbuf_free(q, &small), 0);
	CHECK_EQ(regbuf_free(q, &d), 0);
	CHECK_EQ(regbuf_free(q, &a), 0);
	regbuf_pool_destroy(q);
	printf("  one block of each class holds 9 x 128 KiB of a 2 MiB pool; "
	       "a buffer lies against its hole's shorter neighbour, so the rest "
	       "joins the longer one when it is freed\n");
}

int main(void)
{
	unit();
	property();
	threads();
	stats_complete();
	stale_handles();
	churn_then_any_size();
	small_spans_and_placement();
	return 0;
}
