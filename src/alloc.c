/* SPDX-License-Identifier: MIT */
/*
 * Fixed buffers inside the pool.
 *
 *  - Size classes 512 B .. 128 KiB (powers of two). A class takes 128 KiB
 *    spans, 128 KiB aligned within one slot, so a block never crosses a
 *    slot and is aligned to its own size; spans are small so that a class
 *    with a few live blocks holds little of a small pool. Per-span block
 *    states live outside the I/O memory (a device may overwrite buffers;
 *    metadata in them would be corruptible) in one record per 2 MiB
 *    region: an in-use bit and a generation per block, which the handle
 *    carries too, so double frees, foreign handles and stale copies of a
 *    handle whose block was handed out again are all refused.
 *  - A span whose blocks are all free goes back to the extent list (and
 *    merges with its neighbours) when an allocation would otherwise fail,
 *    so an emptied pool serves any size up to its largest slot.
 *  - Each thread keeps a cache of free blocks per class and pool: the
 *    common alloc/free pair takes no lock. Caches trade batches of blocks
 *    with a per-class global stack.
 *  - Larger buffers (and spans) come from an address-ordered list of free
 *    extents per slot, coalesced on free, under a pool lock: each takes
 *    the best fit, a span from its top, a buffer from the end whose
 *    neighbour is shorter. Large buffers are kept in address order, so a
 *    free and a neighbour's length are each a binary search.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "uapi.h"

#define SPAN_SHIFT   17
#define SPAN	     (1ULL << SPAN_SHIFT)
#define REGION_SHIFT 21 /* one record of block states per 2 MiB */
#define REGION_SPANS (1U << (REGION_SHIFT - SPAN_SHIFT))
#define SPAN_BLOCKS  (SPAN >> MIN_SHIFT)
#define MIN_SHIFT    9
#define NR_CLASSES   9 /* 512 B .. 128 KiB */
#define MAX_CLASS    (1ULL << (MIN_SHIFT + NR_CLASSES - 1))
#define MAX_ALIGN    (2ULL << 20)
#define TC_MAX	     64
#define TC_BATCH     32
#define TC_SLOTS     4
#define KIND_LARGE   0xf
#define SPAN_FREE    0xff /* a span given back to the extents */
/* A handle's cookie: pool tag | kind (class or large) | generation |
 * offset / 512 (35 bits: pools up to 16 TiB). */
#define COOKIE_TAG_SHIFT  54
#define COOKIE_KIND_SHIFT 50
#define COOKIE_GEN_SHIFT  35
#define GEN_MASK	  0x7fffU
#define COOKIE_OFF_MASK	  ((1ULL << COOKIE_GEN_SHIFT) - 1)
#define MAX_POOL_BYTES	  ((COOKIE_OFF_MASK + 1) << MIN_SHIFT)

_Static_assert(NR_CLASSES <= REGBUF_NR_CLASSES, "classes");

/*
 * One 16-bit state per block: bit 0 = handed out, bits 1..15 = generation,
 * advanced by every free. Blocks travel between threads in batches of
 * TC_BATCH (32) neighbours: 32 states fill one cache line, so two threads
 * working on their own batches never write the same line.
 */
#define ST_USED 1U
struct region {
	uint8_t cls[REGION_SPANS]; /* each span's class, or SPAN_FREE */
	_Alignas(64) uint16_t st[REGION_SPANS][SPAN_BLOCKS];
};

static inline unsigned span_in_region(uint64_t off)
{
	return (unsigned)(off >> SPAN_SHIFT) & (REGION_SPANS - 1);
}

/* The class of the span holding off (SPAN_FREE: given back). */
static inline uint8_t *span_class(struct region *rg, uint64_t off)
{
	return &rg->cls[span_in_region(off)];
}

static inline uint16_t *span_state(struct region *rg, uint64_t off, unsigned c)
{
	return &rg->st[span_in_region(off)]
		      [(off & (SPAN - 1)) >> (MIN_SHIFT + c)];
}

static inline uint64_t make_cookie(uint16_t tag, uint64_t kind, uint64_t gen,
				   uint64_t off)
{
	return ((uint64_t)tag << COOKIE_TAG_SHIFT) |
	       (kind << COOKIE_KIND_SHIFT) |
	       ((gen & GEN_MASK) << COOKIE_GEN_SHIFT) | (off >> MIN_SHIFT);
}

static inline uint64_t cookie_gen(uint64_t cookie)
{
	return (cookie >> COOKIE_GEN_SHIFT) & GEN_MASK;
}

struct extent {
	uint64_t off, len;
};

/*
 * A slot's free extents. items counts what has been carved from the slot
 * (buffers and spans). Holes and items alternate, so there are at most
 * items + 1 holes; each carve first makes room for items + 2 extents, so
 * a free (one item fewer, at most one hole more) never allocates and
 * never fails.
 */
struct slot_free {
	struct extent *ext;
	unsigned nr, cap, items;
};

struct large {
	uint64_t off, len;
	uint64_t gen;
};

struct gstack {
	pthread_mutex_t lock;
	uint64_t *off;
	size_t nr, cap;
	uint64_t spans;
};

struct tcache {
	struct rb_alloc *a;
	uint64_t pool_id;
	struct tcache *next; /* in the pool's list */
	struct {
		uint32_t nr;
		uint64_t off[TC_MAX];
	} cls[NR_CLASSES];
	/* counters, summed by regbuf_alloc_stats */
	uint64_t allocs, frees, requested, fixed, fallback;
};

struct rb_alloc {
	struct regbuf_pool *pool;
	uint64_t id;
	uint16_t tag;
	pthread_mutex_t lock; /* extents, large, span table growth, tcaches */
	struct slot_free *free;
	struct region **regions; /* indexed by offset >> REGION_SHIFT */
	uint64_t nr_regions;
	struct large *large;
	unsigned nr_large, cap_large;
	uint64_t large_bytes;
	struct gstack g[NR_CLASSES];
	struct tcache *tcaches;
	uint64_t held; /* bytes outside the global stacks (for peak) */
	uint64_t peak;
	uint64_t failed, bad_frees, large_allocs, large_frees, large_req;
	uint64_t large_fixed, large_fallback, large_gen;
	uint64_t max_len; /* longest buffer the pool can ever hold */
	/* counters of thread caches retired (thread exit, eviction) */
	uint64_t retired_allocs, retired_frees, retired_requested;
	uint64_t retired_fixed, retired_fallback;
};

/* Thread caches, keyed by pool id; all pool lifetimes go through tc_lock
 * so that a cache is never flushed into a destroyed pool. */
static pthread_mutex_t tc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;
static uint64_t next_pool_id = 1;
static __thread struct tcache *tls_tc[TC_SLOTS];

static void abort_if_debug(const char *what)
{
	if (rb_debug_build) {
		fprintf(stderr, "regbuf: %s\n", what);
		abort();
	}
}

static inline unsigned class_of(uint64_t size)
{
	if (size <= (1ULL << MIN_SHIFT))
		return 0;
	return (unsigned)(64 - __builtin_clzll(size - 1)) - MIN_SHIFT;
}

static inline uint64_t class_size(unsigned c)
{
	return 1ULL << (MIN_SHIFT + c);
}

/* ---- extents (pool lock held) ---- */

/* Room for at least n extents. */
static int ext_reserve(struct slot_free *sf, unsigned n)
{
	if (sf->cap >= n)
		return 0;

	unsigned cap = sf->cap ? sf->cap : 8;

	while (cap < n)
		cap *= 2;
	struct extent *ne = rb_realloc(sf->ext, cap * sizeof(*ne));

	if (!ne)
		return -ENOMEM;
	sf->ext = ne;
	sf->cap = cap;
	return 0;
}

/* Insert at index at; the caller made room. */
static void ext_put(struct slot_free *sf, unsigned at, uint64_t off,
		    uint64_t len)
{
	RB_ASSERT(sf->nr < sf->cap && at <= sf->nr);
	memmove(&sf->ext[at + 1], &sf->ext[at],
		(sf->nr - at) * sizeof(*sf->ext));
	sf->ext[at] = (struct extent){off, len};
	sf->nr++;
}

/* A new slot's one hole. */
static int ext_first(struct slot_free *sf, uint64_t off, uint64_t len)
{
	if (ext_reserve(sf, 2))
		return -ENOMEM;
	ext_put(sf, 0, off, len);
	return 0;
}

/* Carve [start, start + len) out of extent i, which holds it (the caller
 * made room for one more extent). */
static uint64_t ext_carve(struct slot_free *sf, unsigned i, uint64_t start,
			  uint64_t len)
{
	struct extent *e = &sf->ext[i];
	uint64_t end = e->off + e->len, tail = end - (start + len);

	RB_ASSERT(i < sf->nr && start >= e->off && start + len <= end);
	if (start == e->off) {
		e->off += len;
		e->len -= len;
		if (!e->len) {
			memmove(e, e + 1, (sf->nr - i - 1) * sizeof(*e));
			sf->nr--;
		}
	} else {
		e->len = start - e->off;
		if (tail)
			ext_put(sf, i + 1, start + len, tail);
	}
	return start;
}

/*
 * The best fit for len bytes whose address base + offset is aligned to
 * align (base 0: the offset itself is aligned): the smallest extent that
 * holds it, the lowest of equals, or UINT32_MAX.
 */
static unsigned ext_best(const struct slot_free *sf, uint64_t len,
			 uint64_t align, uint64_t base)
{
	unsigned best = UINT32_MAX;

	for (unsigned i = 0; i < sf->nr; i++) {
		const struct extent *e = &sf->ext[i];
		uint64_t start = rb_align_up(base + e->off, align) - base;

		if (e->len < len || start + len > e->off + e->len ||
		    start + len < start)
			continue;
		if (best == UINT32_MAX || e->len < sf->ext[best].len)
			best = i;
	}
	return best;
}

/* The first large buffer at or above off. */
static unsigned large_at(const struct rb_alloc *a, uint64_t off)
{
	unsigned lo = 0, hi = a->nr_large;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (a->large[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The length of what lies against a hole of slot s: below it when the
 * hole starts at off (below), above it when the hole ends at off. 0 for
 * the slot's edge; a large buffer's length; a span (whatever is neither)
 * counts as SPAN.
 */
static uint64_t neighbour_len(const struct rb_alloc *a, unsigned s,
			      uint64_t off, bool below)
{
	const struct rb_slot *sl = &a->pool->slots[s];
	unsigned i = large_at(a, off);

	if (off == (below ? sl->offset : sl->offset + sl->len))
		return 0;
	if (below && i > 0 && a->large[i - 1].off + a->large[i - 1].len == off)
		return a->large[i - 1].len;
	if (!below && i < a->nr_large && a->large[i].off == off)
		return a->large[i].len;
	return SPAN;
}

/*
 * len aligned bytes from slot s (see ext_best), or UINT64_MAX. A span
 * takes the top of its hole. A buffer lies against the shorter of the
 * hole's two neighbours (the bottom when they are equal), so that what is
 * left of the hole touches the longer one: when that neighbour is freed,
 * the two make one large hole, rather than a large hole walled off from a
 * small one. The allocator cannot tell which buffer goes first; taking
 * each as likely as any other, the longer neighbour is the one that would
 * give the larger hole. (On bench alloc's mixed workload this adds half a
 * point of fill at the first failure, on average over 3000 request
 * sequences the bench does not use, to buffers of 2 MiB and more from the
 * bottom and smaller ones from the top; no other placement tried did
 * clearly better: docs/allocator.md.)
 */
static uint64_t ext_take(struct rb_alloc *a, unsigned s, uint64_t len,
			 uint64_t align, uint64_t base, bool span)
{
	struct slot_free *sf = &a->free[s];
	unsigned i = ext_best(sf, len, align, base);
	uint64_t lo, hi, end;

	if (i == UINT32_MAX || ext_reserve(sf, sf->items + 2))
		return UINT64_MAX;
	end = sf->ext[i].off + sf->ext[i].len;
	lo = rb_align_up(base + sf->ext[i].off, align) - base;
	hi = ((base + end - len) & ~(align - 1)) - base;
	sf->items++;
	if (span || neighbour_len(a, s, sf->ext[i].off, true) >
			    neighbour_len(a, s, end, false))
		return ext_carve(sf, i, hi, len);
	return ext_carve(sf, i, lo, len);
}

/* Give back what ext_take carved (never fails: see struct slot_free). */
static void ext_give(struct slot_free *sf, uint64_t off, uint64_t len)
{
	unsigned i = 0;

	/* holes and items alternate: room for one more hole is there */
	RB_ASSERT(sf->items > 0 && sf->nr <= sf->items + 1);
	sf->items--;
	while (i < sf->nr && sf->ext[i].off < off)
		i++;
	if (i > 0 && sf->ext[i - 1].off + sf->ext[i - 1].len == off) {
		sf->ext[i - 1].len += len;
		if (i < sf->nr && off + len == sf->ext[i].off) {
			sf->ext[i - 1].len += sf->ext[i].len;
			memmove(&sf->ext[i], &sf->ext[i + 1],
				(sf->nr - i - 1) * sizeof(*sf->ext));
			sf->nr--;
		}
		return;
	}
	if (i < sf->nr && off + len == sf->ext[i].off) {
		sf->ext[i].off = off;
		sf->ext[i].len += len;
		return;
	}
	ext_put(sf, i, off, len);
}

/* Registered slots first, then the rest (fallback memory). */
static uint64_t take_any(struct rb_alloc *a, uint64_t len, uint64_t align,
			 uint64_t base, bool span)
{
	struct regbuf_pool *p = a->pool;

	for (int pass = 0; pass < 2; pass++)
		for (unsigned s = 0; s < rb_pool_nr_slots(p); s++) {
			uint64_t off;

			if (p->slots[s].registered != (pass == 0))
				continue;
			off = ext_take(a, s, len, align, base, span);
			if (off != UINT64_MAX)
				return off;
		}
	return UINT64_MAX;
}

/* ---- classes ---- */

/* A free block back on its class's stack: never fails, the stack has room
 * for every block of the class's spans (see new_span). */
static void gstack_push(struct gstack *g, uint64_t off)
{
	RB_ASSERT(g->nr < g->cap);
	g->off[g->nr++] = off;
}

/* The record of the region holding off, created on first use and kept
 * until the pool goes (pool lock held). A span that comes back to a class
 * finds its blocks' generations where they were, so a stale handle stays
 * stale across the round trip, and a free racing with a reclaim never
 * reads freed memory. */
static struct region *region_get(struct rb_alloc *a, uint64_t off)
{
	struct region *rg = a->regions[off >> REGION_SHIFT];

	if (rg)
		return rg;
	rg = rb_aligned_alloc(64, sizeof(*rg));
	if (!rg)
		return NULL;
	memset(rg, 0, sizeof(*rg));
	memset(rg->cls, SPAN_FREE, sizeof(rg->cls));
	__atomic_store_n(&a->regions[off >> REGION_SHIFT], rg,
			 __ATOMIC_RELEASE);
	return rg;
}

/* Carve a new span for class c into g (g->lock held). */
static int new_span(struct rb_alloc *a, unsigned c, struct gstack *g)
{
	uint64_t bs = class_size(c), n = SPAN / bs, off;
	struct region *rg = NULL;

	/* Room for every block of every span, this one included: a free
	 * then never needs to allocate. */
	if (g->cap < (g->spans + 1) * n) {
		size_t cap = (g->spans + 1) * n * 2;
		uint64_t *no = rb_realloc(g->off, cap * sizeof(*no));

		if (!no)
			return -ENOMEM;
		g->off = no;
		g->cap = cap;
	}
	pthread_mutex_lock(&a->lock);
	off = take_any(a, SPAN, SPAN, 0, true); /* offset aligned */
	if (off != UINT64_MAX && !(rg = region_get(a, off))) {
		ext_give(&a->free[rb_slot_of(a->pool, off)], off, SPAN);
		off = UINT64_MAX;
	}
	pthread_mutex_unlock(&a->lock);
	if (off == UINT64_MAX)
		return -ENOMEM;
	__atomic_store_n(span_class(rg, off), (uint8_t)c, __ATOMIC_RELAXED);
	/* Push high to low so blocks leave in address order. */
	for (uint64_t i = n; i-- > 0;)
		g->off[g->nr++] = off + i * bs;
	g->spans++;
	return 0;
}

static int cmp_desc(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? 1 : a > b ? -1 : 0;
}

/*
 * Give every span whose blocks are all free back to the extents, where it
 * merges with its neighbours. Only blocks in the global stacks count as
 * free here: the caller flushed its own cache first, other threads' caches
 * keep their spans. Each stack is sorted by address (highest first, so
 * blocks still leave lowest first), which puts a span's free blocks side
 * by side. Takes every class lock (in class order) and the pool lock;
 * called only when an allocation would otherwise fail.
 */
static void reclaim_spans(struct rb_alloc *a)
{
	for (unsigned c = 0; c < NR_CLASSES; c++)
		pthread_mutex_lock(&a->g[c].lock);
	pthread_mutex_lock(&a->lock);
	for (unsigned c = 0; c < NR_CLASSES; c++) {
		struct gstack *g = &a->g[c];
		uint64_t per_span = SPAN / class_size(c);
		size_t kept = 0, i, j;

		if (!g->nr)
			continue;
		qsort(g->off, g->nr, sizeof(*g->off), cmp_desc);
		for (i = 0; i < g->nr; i = j) {
			uint64_t so = g->off[i] & ~(SPAN - 1); /* the span */

			for (j = i;
			     j < g->nr && (g->off[j] & ~(SPAN - 1)) == so; j++)
				;
			if (j - i == per_span) {
				ext_give(&a->free[rb_slot_of(a->pool, so)], so,
					 SPAN);
				__atomic_store_n(
					span_class(
						a->regions[so >> REGION_SHIFT],
						so),
					SPAN_FREE, __ATOMIC_RELAXED);
				g->spans--;
				continue; /* its blocks leave the stack */
			}
			memmove(&g->off[kept], &g->off[i],
				(j - i) * sizeof(*g->off));
			kept += j - i;
		}
		g->nr = kept;
	}
	pthread_mutex_unlock(&a->lock);
	for (unsigned c = NR_CLASSES; c-- > 0;)
		pthread_mutex_unlock(&a->g[c].lock);
}

static void note_held(struct rb_alloc *a, int64_t delta)
{
	uint64_t h =
		__atomic_add_fetch(&a->held, (uint64_t)delta, __ATOMIC_RELAXED);
	uint64_t pk = __atomic_load_n(&a->peak, __ATOMIC_RELAXED);

	while (h > pk &&
	       !__atomic_compare_exchange_n(&a->peak, &pk, h, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void tc_flush_all(struct tcache *tc);

static int refill(struct rb_alloc *a, struct tcache *tc, unsigned c)
{
	struct gstack *g = &a->g[c];
	unsigned n;

	pthread_mutex_lock(&g->lock);
	if (!g->nr && new_span(a, c, g)) {
		/* Empty spans of other classes may be sitting idle. */
		pthread_mutex_unlock(&g->lock);
		tc_flush_all(tc);
		reclaim_spans(a);
		pthread_mutex_lock(&g->lock);
		if (!g->nr && new_span(a, c, g)) {
			pthread_mutex_unlock(&g->lock);
			return -ENOMEM;
		}
	}
	n = g->nr < TC_BATCH ? (unsigned)g->nr : TC_BATCH;
	RB_ASSERT(tc->cls[c].nr + n <= TC_MAX);
	for (unsigned i = 0; i < n; i++)
		tc->cls[c].off[tc->cls[c].nr++] = g->off[--g->nr];
	pthread_mutex_unlock(&g->lock);
	note_held(a, (int64_t)(n * class_size(c)));
	return 0;
}

static void tc_flush_class(struct rb_alloc *a, struct tcache *tc, unsigned c,
			   unsigned keep)
{
	struct gstack *g = &a->g[c];
	unsigned moved = 0;

	pthread_mutex_lock(&g->lock);
	while (tc->cls[c].nr > keep) {
		gstack_push(g, tc->cls[c].off[--tc->cls[c].nr]);
		moved++;
	}
	pthread_mutex_unlock(&g->lock);
	note_held(a, -(int64_t)(moved * class_size(c)));
}

static void tc_flush_all(struct tcache *tc)
{
	for (unsigned c = 0; c < NR_CLASSES; c++)
		tc_flush_class(tc->a, tc, c, 0);
}

static void tc_unlink(struct tcache *tc)
{
	struct tcache **pp = &tc->a->tcaches;

	while (*pp && *pp != tc)
		pp = &(*pp)->next;
	if (*pp)
		*pp = tc->next;
}

/* A cache leaves its pool (thread exit, eviction; tc_lock held): its blocks
 * go back to the classes and its counters into the pool's, so statistics
 * stay complete. The cache is freed. */
static void tc_retire(struct tcache *tc)
{
	struct rb_alloc *a = tc->a;

	if (a) { /* pool alive */
		tc_flush_all(tc);
		pthread_mutex_lock(&a->lock);
		a->retired_allocs += tc->allocs;
		a->retired_frees += tc->frees;
		a->retired_requested += tc->requested;
		a->retired_fixed += tc->fixed;
		a->retired_fallback += tc->fallback;
		tc_unlink(tc);
		pthread_mutex_unlock(&a->lock);
	}
	free(tc);
}

static void tc_thread_exit(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tc_lock);
	for (unsigned i = 0; i < TC_SLOTS; i++) {
		if (tls_tc[i])
			tc_retire(tls_tc[i]);
		tls_tc[i] = NULL;
	}
	pthread_mutex_unlock(&tc_lock);
}

static void tc_init_key(void)
{
	pthread_key_create(&tc_key, tc_thread_exit);
}

/* The calling thread's cache for a, created on first use. */
static struct tcache *tc_get(struct rb_alloc *a)
{
	struct tcache *tc = tls_tc[0];
	unsigned victim = TC_SLOTS - 1;

	if (__builtin_expect(tc && tc->pool_id == a->id, 1))
		return tc;
	for (unsigned i = 1; i < TC_SLOTS; i++) {
		tc = tls_tc[i];
		if (tc && tc->pool_id == a->id) {
			tls_tc[i] = tls_tc[0];
			tls_tc[0] = tc;
			return tc;
		}
	}
	pthread_once(&tc_once, tc_init_key);
	tc = rb_calloc(1, sizeof(*tc));
	if (!tc)
		return NULL;
	tc->a = a;
	tc->pool_id = a->id;
	pthread_mutex_lock(&tc_lock);
	for (unsigned i = 0; i < TC_SLOTS; i++)
		if (!tls_tc[i] || !tls_tc[i]->a) {
			victim = i;
			break;
		}
	if (tls_tc[victim]) /* evict */
		tc_retire(tls_tc[victim]);
	pthread_mutex_lock(&a->lock);
	tc->next = a->tcaches;
	a->tcaches = tc;
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_unlock(&tc_lock);
	tls_tc[victim] = tls_tc[0];
	tls_tc[0] = tc;
	pthread_setspecific(tc_key, tc);
	return tc;
}

/* ---- public ---- */

static void set_slot(struct rb_alloc *a, struct regbuf_buf *buf, uint64_t off)
{
	unsigned s = rb_slot_of(a->pool, off);

	buf->slot =
		a->pool->slots[s].registered ? (int32_t)s : REGBUF_SLOT_NONE;
}

static int alloc_large(struct rb_alloc *a, uint64_t len, uint64_t align,
		       struct regbuf_buf *buf, size_t req)
{
	uint64_t size = rb_align_up(len, 4096), off, gen;
	unsigned at;

	pthread_mutex_lock(&a->lock);
	/* The caller asked for an aligned address, whatever the base. */
	off = take_any(a, size, align < 4096 ? 4096 : align,
		       (uint64_t)(uintptr_t)a->pool->base, false);
	if (off != UINT64_MAX && a->nr_large == a->cap_large) {
		unsigned cap = a->cap_large ? a->cap_large * 2 : 16;
		struct large *nl = rb_realloc(a->large, cap * sizeof(*nl));

		if (!nl) {
			ext_give(&a->free[rb_slot_of(a->pool, off)], off, size);
			off = UINT64_MAX;
		} else {
			a->large = nl;
			a->cap_large = cap;
		}
	}
	if (off == UINT64_MAX) {
		a->failed++;
		pthread_mutex_unlock(&a->lock);
		return -ENOMEM;
	}
	gen = a->large_gen = (a->large_gen + 1) & GEN_MASK;
	at = large_at(a, off); /* kept in address order */
	memmove(&a->large[at + 1], &a->large[at],
		(a->nr_large - at) * sizeof(*a->large));
	a->large[at] = (struct large){off, size, gen};
	a->nr_large++;
	a->large_bytes += size;
	a->large_allocs++;
	a->large_req += req;
	set_slot(a, buf, off);
	if (buf->slot >= 0)
		a->large_fixed++;
	else
		a->large_fallback++;
	pthread_mutex_unlock(&a->lock);
	note_held(a, (int64_t)size);
	buf->addr = a->pool->base + off;
	buf->len = req;
	buf->cookie = make_cookie(a->tag, KIND_LARGE, gen, off);
	return 0;
}

/* Straight from the extents; a GROWABLE pool grows once when that fails
 * (after checking, under the grow lock, that no other thread just did). */
static int alloc_raw_or_grow(struct regbuf_pool *pool, size_t len, size_t align,
			     struct regbuf_buf *buf)
{
	unsigned long heap = rb_heap_failures();
	int ret = rb_alloc_raw(pool, len, align, buf);

	if (ret == -ENOMEM) {
		/* Whole spans sitting empty in the classes come back first. */
		struct tcache *tc = tc_get(pool->alloc);

		if (tc)
			tc_flush_all(tc);
		reclaim_spans(pool->alloc);
		ret = rb_alloc_raw(pool, len, align, buf);
	}
	/* A GROWABLE pool grows by its own policy (pool.c). */
	if (ret == -ENOMEM && pool->grow_for)
		ret = pool->grow_for(pool, len, align, buf);
	if (ret && rb_heap_failures() != heap)
		return rb_err(ret, "out of memory (heap) for a %zu-byte buffer",
			      len);
	return ret ? rb_err(ret, "pool exhausted for %zu bytes", len) : 0;
}

RB_EXPORT int regbuf_alloc(struct regbuf_pool *pool, size_t len, size_t align,
			   struct regbuf_buf *buf)
{
	struct rb_alloc *a;
	struct tcache *tc;
	uint64_t need, off;
	uint16_t *st, gen;
	unsigned c;

	if (__builtin_expect(!rb_pool_ok_fast(pool) || !buf || !pool->alloc, 0))
		return rb_err(-EINVAL, "regbuf_alloc: pool and buf needed");
	if (!align)
		align = 4096;
	a = pool->alloc;
	if (__builtin_expect(!len || !rb_is_pow2(align) || align > MAX_ALIGN ||
				     len > __atomic_load_n(&a->max_len,
							   __ATOMIC_RELAXED),
			     0))
		return rb_err(
			-EINVAL,
			"regbuf_alloc: len %zu / align %zu out of range (len 1 .. %llu, the pool's largest slot; align a power of two up to 2 MiB)",
			len, align,
			(unsigned long long)__atomic_load_n(&a->max_len,
							    __ATOMIC_RELAXED));
	need = len > align ? len : align;
	buf->flags = 0;
	buf->bid = 0;
	if (need > MAX_CLASS || ((uintptr_t)pool->base & (align - 1)))
		return alloc_raw_or_grow(pool, len, align, buf);
	c = class_of(need);
	tc = tc_get(a);
	if (__builtin_expect(!tc, 0))
		return -ENOMEM; /* the heap said why */
	if (!tc->cls[c].nr && refill(a, tc, c))
		/* No whole span left for this class: take pages directly. */
		return alloc_raw_or_grow(pool, len, align, buf);
	off = tc->cls[c].off[--tc->cls[c].nr];
	/* The block is this thread's alone until the handle leaves. */
	st = span_state(a->regions[off >> REGION_SHIFT], off, c);
	gen = __atomic_load_n(st, __ATOMIC_RELAXED);
	__atomic_store_n(st, (uint16_t)(gen | ST_USED), __ATOMIC_RELAXED);
	tc->allocs++;
	tc->requested += len;
	buf->addr = pool->base + off;
	buf->len = len;
	buf->cookie = make_cookie(a->tag, c, gen >> 1, off);
	set_slot(a, buf, off);
	if (buf->slot >= 0)
		tc->fixed++;
	else
		tc->fallback++;
	return 0;
}

static int free_large(struct rb_alloc *a, uint64_t off, size_t len,
		      uint64_t gen)
{
	uint64_t size = rb_align_up(len, 4096);
	unsigned i;

	pthread_mutex_lock(&a->lock);
	i = large_at(a, off);
	if (i == a->nr_large || a->large[i].off != off ||
	    a->large[i].len != size || a->large[i].gen != gen) {
		a->bad_frees++;
		pthread_mutex_unlock(&a->lock);
		return -EINVAL;
	}
	memmove(&a->large[i], &a->large[i + 1],
		(a->nr_large - i - 1) * sizeof(*a->large));
	a->nr_large--;
	ext_give(&a->free[rb_slot_of(a->pool, off)], off, size);
	a->large_bytes -= size;
	a->large_frees++;
	a->large_req -= len;
	pthread_mutex_unlock(&a->lock);
	note_held(a, -(int64_t)size);
	return 0;
}

RB_EXPORT int regbuf_free(struct regbuf_pool *pool, struct regbuf_buf *buf)
{
	struct rb_alloc *a;
	struct tcache *tc;
	uint64_t off, kind;
	struct region *rg;

	if (__builtin_expect(!rb_pool_ok_fast(pool) || !buf || !pool->alloc, 0))
		return rb_err(-EINVAL, "regbuf_free: pool and buf needed");
	a = pool->alloc;
	off = (uint64_t)((uint8_t *)buf->addr - pool->base);
	kind = (buf->cookie >> COOKIE_KIND_SHIFT) & 0xf;
	if (__builtin_expect((buf->cookie >> COOKIE_TAG_SHIFT) != a->tag ||
				     (buf->cookie & COOKIE_OFF_MASK) !=
					     off >> MIN_SHIFT ||
				     (uint8_t *)buf->addr < pool->base ||
				     off >= rb_pool_size(pool) || !buf->len ||
				     (kind != KIND_LARGE && kind >= NR_CLASSES),
			     0))
		goto bad;
	if (kind == KIND_LARGE) {
		if (free_large(a, off, buf->len, cookie_gen(buf->cookie)))
			goto bad_counted;
		goto done;
	}
	rg = __atomic_load_n(&a->regions[off >> REGION_SHIFT],
			     __ATOMIC_ACQUIRE);
	if (!rg ||
	    __atomic_load_n(span_class(rg, off), __ATOMIC_RELAXED) != kind ||
	    (off & (class_size(kind) - 1)) || buf->len > class_size(kind))
		goto bad;
	{
		/* In use with the handle's generation, or refused: a double
		 * free, or a stale copy of a handle whose block was freed and
		 * perhaps handed out again. */
		uint64_t gen = cookie_gen(buf->cookie);
		uint16_t want = (uint16_t)(gen << 1 | ST_USED);
		uint16_t next = (uint16_t)(((gen + 1) & GEN_MASK) << 1);

		if (!__atomic_compare_exchange_n(
			    span_state(rg, off, (unsigned)kind), &want, next,
			    false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			goto bad;
	}
	tc = tc_get(a);
	if (!tc) {
		/* Cannot cache: hand the block straight to the class. */
		pthread_mutex_lock(&a->g[kind].lock);
		gstack_push(&a->g[kind], off);
		pthread_mutex_unlock(&a->g[kind].lock);
		goto done;
	}
	if (tc->cls[kind].nr == TC_MAX)
		tc_flush_class(a, tc, (unsigned)kind, TC_MAX - TC_BATCH);
	RB_ASSERT(tc->cls[kind].nr < TC_MAX);
	tc->cls[kind].off[tc->cls[kind].nr++] = off;
	tc->frees++;
	tc->requested -= buf->len;
done:
	buf->cookie = 0;
	buf->addr = NULL;
	return 0;
bad:
	pthread_mutex_lock(&a->lock);
	a->bad_frees++;
	pthread_mutex_unlock(&a->lock);
bad_counted:
	abort_if_debug("invalid free: double free, foreign or forged buffer");
	return rb_err(
		-EINVAL,
		"regbuf_free: %p is not a live buffer of this pool (double free, stale copy of a handle, foreign or forged handle)",
		buf->addr);
}

int rb_alloc_raw(struct regbuf_pool *p, size_t len, size_t align,
		 struct regbuf_buf *buf)
{
	if (!p->alloc)
		return -EINVAL;
	return alloc_large(p->alloc, len, align, buf, len);
}

RB_EXPORT int regbuf_alloc_stats(struct regbuf_pool *pool,
				 struct regbuf_alloc_stats *user)
{
	struct regbuf_alloc_stats k, *st = &k;
	struct rb_alloc *a;
	int usize;

	if (!rb_pool_ok(pool) || !user || !pool->alloc)
		return rb_err(-EINVAL,
			      "regbuf_alloc_stats: pool and st needed");
	usize = rb_struct_size(user, "regbuf_alloc_stats");
	if (usize < 0)
		return usize;
	a = pool->alloc;
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&a->lock);
	for (uint64_t r = 0; r < a->nr_regions; r++) {
		struct region *rg = a->regions[r];

		for (unsigned sp = 0; rg && sp < REGION_SPANS; sp++) {
			unsigned c =
				__atomic_load_n(&rg->cls[sp], __ATOMIC_RELAXED);

			if (c == SPAN_FREE)
				continue;
			for (uint64_t b = 0; b < SPAN / class_size(c); b++)
				st->class_in_use[c] +=
					__atomic_load_n(&rg->st[sp][b],
							__ATOMIC_RELAXED) &
					ST_USED;
		}
	}
	for (unsigned c = 0; c < NR_CLASSES; c++) {
		st->class_size[c] = class_size(c);
		st->bytes_in_use += st->class_in_use[c] * class_size(c);
	}
	for (struct tcache *tc = a->tcaches; tc; tc = tc->next) {
		st->nr_allocs += __atomic_load_n(&tc->allocs, __ATOMIC_RELAXED);
		st->nr_frees += __atomic_load_n(&tc->frees, __ATOMIC_RELAXED);
		st->requested_bytes +=
			__atomic_load_n(&tc->requested, __ATOMIC_RELAXED);
		st->fixed_allocs +=
			__atomic_load_n(&tc->fixed, __ATOMIC_RELAXED);
		st->fallback_allocs +=
			__atomic_load_n(&tc->fallback, __ATOMIC_RELAXED);
	}
	st->large_in_use = a->nr_large;
	st->bytes_in_use += a->large_bytes;
	st->requested_bytes += a->large_req + a->retired_requested;
	st->nr_allocs += a->large_allocs + a->retired_allocs;
	st->nr_frees += a->large_frees + a->retired_frees;
	st->fixed_allocs += a->large_fixed + a->retired_fixed;
	st->fallback_allocs += a->large_fallback + a->retired_fallback;
	st->nr_failed = a->failed;
	st->nr_bad_frees = a->bad_frees;
	st->peak_bytes = __atomic_load_n(&a->peak, __ATOMIC_RELAXED);
	if (st->peak_bytes < st->bytes_in_use)
		st->peak_bytes = st->bytes_in_use;
	pthread_mutex_unlock(&a->lock);
	rb_struct_out(user, (uint32_t)usize, st, sizeof(*st));
	return 0;
}

int rb_alloc_init(struct regbuf_pool *p)
{
	struct rb_alloc *a = rb_calloc(1, sizeof(*a));
	uint64_t seed;

	if (!a)
		return -ENOMEM; /* the heap said why */
	if ((p->max_size > p->size ? p->max_size : p->size) > MAX_POOL_BYTES) {
		free(a);
		return rb_err(-EOVERFLOW,
			      "a pool holds at most 16 TiB of buffers");
	}
	a->pool = p;
	/* Sized for all the pool may grow to: these tables never move. */
	a->nr_regions = ((p->max_size > p->size ? p->max_size : p->size) +
			 (1ULL << REGION_SHIFT) - 1) >>
			REGION_SHIFT;
	a->regions = rb_calloc(a->nr_regions ? a->nr_regions : 1,
			       sizeof(*a->regions));
	a->free = rb_calloc(p->slots_cap > p->nr_slots ? p->slots_cap
			    : p->nr_slots	       ? p->nr_slots
						       : 1,
			    sizeof(*a->free));
	if (!a->regions || !a->free) {
		free(a->regions);
		free(a->free);
		free(a);
		return -ENOMEM; /* the heap said why */
	}
	pthread_mutex_init(&a->lock, NULL);
	for (unsigned c = 0; c < NR_CLASSES; c++)
		pthread_mutex_init(&a->g[c].lock, NULL);
	/* A growable pool's future slots may be as long as max_slot. */
	if (p->flags & REGBUF_POOL_GROWABLE)
		a->max_len =
			p->max_slot < p->max_size ? p->max_slot : p->max_size;
	for (unsigned s = 0; s < p->nr_slots; s++) {
		if (p->slots[s].len > a->max_len)
			a->max_len = p->slots[s].len;
		if (ext_first(&a->free[s], p->slots[s].offset,
			      p->slots[s].len)) {
			p->alloc = a;
			rb_alloc_fini(p);
			return -ENOMEM; /* the heap said why */
		}
	}
	pthread_mutex_lock(&tc_lock);
	a->id = next_pool_id++;
	pthread_mutex_unlock(&tc_lock);
	seed = a->id * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)p;
	a->tag = (uint16_t)((seed >> COOKIE_TAG_SHIFT) | 1);
	p->alloc = a;
	return 0;
}

void rb_alloc_grow(struct regbuf_pool *p, unsigned first, unsigned nr)
{
	struct rb_alloc *a = p->alloc;

	pthread_mutex_lock(&a->lock);
	for (unsigned s = first; s < first + nr; s++) {
		/* Out of heap here leaves the slot unused, nothing worse. */
		ext_first(&a->free[s], p->slots[s].offset, p->slots[s].len);
		if (p->slots[s].len > a->max_len)
			__atomic_store_n(&a->max_len, p->slots[s].len,
					 __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&a->lock);
}

void rb_alloc_fini(struct regbuf_pool *p)
{
	struct rb_alloc *a = p->alloc;

	if (!a)
		return;
	/* Orphan the thread caches: their threads free them later. */
	pthread_mutex_lock(&tc_lock);
	for (struct tcache *tc = a->tcaches; tc; tc = tc->next) {
		tc->a = NULL;
		tc->pool_id = 0;
	}
	pthread_mutex_unlock(&tc_lock);
	for (uint64_t r = 0; r < a->nr_regions; r++)
		free(a->regions[r]);
	for (unsigned s = 0; s < p->nr_slots; s++)
		free(a->free[s].ext);
	for (unsigned c = 0; c < NR_CLASSES; c++) {
		free(a->g[c].off);
		pthread_mutex_destroy(&a->g[c].lock);
	}
	free(a->regions);
	free(a->free);
	free(a->large);
	pthread_mutex_destroy(&a->lock);
	free(a);
	p->alloc = NULL;
}
