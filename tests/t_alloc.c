/* SPDX-License-Identifier: MIT */
/*
 * The allocator: classes and alignment, slot boundaries, exhaustion,
 * double / foreign / forged frees, statistics, a property test against a
 * reference model, and threads hammering it with every byte checked.
 */
#include <pthread.h>

#include "harness.h"

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
	struct regbuf_slot_info s;
	uint64_t off =
		(uint64_t)((char *)b->addr - (char *)regbuf_pool_base(p));
	unsigned idx = b->slot >= 0 ? (unsigned)b->slot : 0;

	if (b->slot < 0)
		return;
	CHECK_EQ(regbuf_pool_slot(p, idx, &s), 0);
	CHECK(off >= s.offset && off + b->len <= s.offset + s.len);
}

static void unit(void)
{
	/* Each size class in use holds at least one 2 MiB span. */
	struct regbuf_pool *p = mkpool(64 << 20, 4 << 20, REGBUF_BACKING_PAGES);
	struct regbuf_pool *q = mkpool(4 << 20, 0, REGBUF_BACKING_PAGES);
	struct regbuf_alloc_stats st;
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
	CHECK_EQ(regbuf_alloc(p, (4 << 20) + 1, 0, &b), -ENOMEM);
	CHECK_EQ(regbuf_alloc(p, 0, 0, &b), -EINVAL);
	CHECK_EQ(regbuf_alloc(p, 10, 3, &b), -EINVAL);
	CHECK_EQ(regbuf_alloc(p, 10, 4 << 20, &b), -EINVAL);
	CHECK_EQ(regbuf_alloc(NULL, 10, 0, &b), -EINVAL);
	/* Double free, forged, foreign, freed twice through a copy. */
	CHECK_EQ(regbuf_alloc(p, 8192, 0, &b), 0);
	c = b;
	forged = b;
	forged.addr = (char *)b.addr + 4096;
	CHECK_EQ(regbuf_free(p, &forged), -EINVAL);
	CHECK_EQ(regbuf_free(q, &c), -EINVAL);
	CHECK_EQ(regbuf_free(p, &b), 0);
	CHECK_EQ(regbuf_free(p, &c), -EINVAL);
	forged.cookie ^= 1ULL << 50;
	CHECK_EQ(regbuf_free(p, &forged), -EINVAL);
	/* Large double free. */
	CHECK_EQ(regbuf_alloc(p, 3 << 20, 0, &b), 0);
	c = b;
	CHECK_EQ(regbuf_free(p, &b), 0);
	CHECK_EQ(regbuf_free(p, &c), -EINVAL);
	CHECK_EQ(regbuf_alloc_stats(p, &st), 0);
	CHECK_EQ(st.nr_bad_frees, 4);
	CHECK_EQ(regbuf_alloc_stats(q, &st), 0);
	CHECK_EQ(st.nr_bad_frees, 1);
	CHECK_EQ(st.bytes_in_use, 0);
	/* Exhaustion returns -ENOMEM without blocking, then recovers. */
	{
		unsigned n = 0;
		int ret;

		while ((ret = regbuf_alloc(q, 1 << 20, 0, &many[n])) == 0)
			n++;
		CHECK_EQ(ret, -ENOMEM);
		CHECK_EQ(n, 4);
		CHECK_EQ(regbuf_alloc_stats(q, &st), 0);
		CHECK_EQ(st.bytes_in_use, 4 << 20);
		CHECK(st.nr_failed >= 1);
		CHECK(st.peak_bytes >= 4 << 20);
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
	struct regbuf_pool *p = mkpool(32 << 20, 8 << 20, REGBUF_BACKING_PAGES);
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
		struct regbuf_alloc_stats st;

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
	struct regbuf_pool *p = mkpool(64 << 20, 0, REGBUF_BACKING_AUTO);
	struct th t[4];
	pthread_t th[4];
	struct regbuf_alloc_stats st;

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

int main(void)
{
	unit();
	property();
	threads();
	return 0;
}
