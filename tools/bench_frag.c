/* SPDX-License-Identifier: MIT */
/*
 * bench alloc's fragmentation half: how full a pool is when a mixed
 * workload first fails, for regbuf and for references that run the same
 * requests.
 *
 * The workload: random sizes (half 512 B..16 KiB, a third 16 KiB..1 MiB,
 * the rest 1..8 MiB), allocated and freed at random (each live buffer as
 * likely as any other) with allocation slightly more likely, on a fresh
 * 64 MiB pool until the first allocation fails. Until that failure the
 * requests do not depend on the allocator, so the same sequence runs
 * against references that round to 4 KiB and keep no metadata, on a model
 * of the pool as address-ordered holes and buffers:
 *
 *  - plain best fit: the bottom of the smallest hole that holds the buffer;
 *  - the bound of an allocator that could move buffers: it fails only when
 *    fewer bytes are free than asked for;
 *  - a what-if: a buffer that finds no hole is gathered from whole free
 *    pages (4 KiB, or 2 MiB) anywhere in the pool into a new view, as a
 *    shared pool could by mapping those pages again side by side and
 *    registering the mapping as a buffer of its own (at most 64 pieces);
 *  - with --planner, two planners, to tell what placement could still win.
 *    Both place each buffer of 1 MiB or more by following regbuf's choice
 *    and the two ends of each of the three smallest holes that hold it
 *    through rollouts of the workload, in which every later buffer is
 *    placed by regbuf's rule (best fit, against the shorter neighbour). A
 *    candidate replaces regbuf's choice only when it survives more events
 *    than that choice by over three standard errors of the paired
 *    difference. The first planner knows the workload's distribution: its
 *    128 rollouts draw requests and frees from the same generator with
 *    fresh seeds. The second is shown the future: its one rollout replays
 *    the requests and frees that will really come. If the first does no
 *    better than regbuf, placement has little left to win that rollouts
 *    can find; the second shows what knowing the order of the frees would
 *    be worth.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define FILL_POOL (64ULL << 20)
enum {
	MAXLIVE = 16384,
	ROLLOUTS = 128,	  /* per candidate, for the planner */
	HORIZON = 600,	  /* events per rollout */
	CANDIDATES = 3,	  /* smallest holes tried, both ends each */
	FORESIGHT = 1500, /* events the second planner looks ahead */
	SEG_CAP = 4 * MAXLIVE,
	VIEW_PIECES = 64
};
#define PLAN_FROM (1ULL << 20)

struct mix {
	uint64_t x;
};

static uint64_t mix_step(struct mix *m)
{
	uint64_t x = m->x;

	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return m->x = x;
}

/* The next event with n buffers live: a free of *victim (returns true) or
 * an allocation of *len bytes. */
static bool mix_next(struct mix *m, unsigned n, unsigned *victim, size_t *len)
{
	uint64_t x = mix_step(m);

	if (n && (x % 100 >= 55 || n == MAXLIVE)) {
		*victim = (unsigned)((x >> 20) % n);
		return true;
	}
	unsigned c = (unsigned)((x >> 8) % 100);
	uint64_t r = x >> 24;

	*len = c < 50	? 512 + r % (16384 - 512)
	       : c < 85 ? 16384 + r % ((1 << 20) - 16384)
			: (1 << 20) + r % (7 << 20);
	return false;
}

static struct mix mix_seed(unsigned seed)
{
	return (struct mix){seed * 0x9e3779b97f4a7c15ULL + 1};
}

/* ---- regbuf ---- */

static struct frag_one fill_regbuf(unsigned seed)
{
	static struct regbuf_buf live[MAXLIVE];
	struct regbuf_pool_opts po;
	struct regbuf_pool *pool;
	struct mix m = mix_seed(seed);
	struct frag_one f = {-1, -1};
	uint64_t bytes = 0;
	unsigned n = 0, k;
	size_t len;

	regbuf_pool_opts_init(&po);
	po.size = FILL_POOL;
	/* placement does not depend on registration (the slots are laid out
	 * alike): not registered, so it runs within any RLIMIT_MEMLOCK */
	po.flags = REGBUF_POOL_NO_REGISTER;
	if (regbuf_pool_create(&po, &pool))
		return f;
	for (unsigned step = 0; step < 10000000; step++) {
		if (mix_next(&m, n, &k, &len)) {
			bytes -= live[k].len;
			regbuf_free(pool, &live[k]);
			live[k] = live[--n];
			continue;
		}
		if (regbuf_alloc(pool, len, 0, &live[n])) {
			struct regbuf_alloc_stats st = {.struct_size =
								sizeof(st)};

			regbuf_alloc_stats(pool, &st);
			f.asked = (double)bytes / (double)FILL_POOL;
			f.held = (double)st.bytes_in_use / (double)FILL_POOL;
			break;
		}
		bytes += len;
		n++;
	}
	while (n)
		regbuf_free(pool, &live[--n]);
	regbuf_pool_destroy(pool);
	return f;
}

/* ---- the model: address-ordered holes and buffers ---- */

struct seg {
	uint64_t off, len;
	bool hole;
};

struct live {
	uint64_t off, len, req;
	unsigned view; /* 0, or 1 + its entry in the model's views */
};

/* A buffer made of pieces of free pages gathered into a new view. */
struct view {
	unsigned np;
	struct {
		uint64_t off, len;
	} p[VIEW_PIECES];
};

struct model {
	struct seg *seg;
	unsigned ns;
	struct live *live;
	unsigned n;
	uint64_t bytes;	    /* asked for, live */
	struct view *views; /* with page: views in use and free */
	unsigned nviews, *free_views, nfree;
};

enum place { BOTTOM, NEIGHBOUR };

static int model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->seg = malloc(SEG_CAP * sizeof(*m->seg));
	m->live = malloc(MAXLIVE * sizeof(*m->live));
	if (!m->seg || !m->live) {
		free(m->seg);
		free(m->live);
		return -1;
	}
	m->seg[0] = (struct seg){0, FILL_POOL, true};
	m->ns = 1;
	return 0;
}

static void model_destroy(struct model *m)
{
	free(m->seg);
	free(m->live);
	free(m->views);
	free(m->free_views);
}

static void model_copy(struct model *to, const struct model *from)
{
	memcpy(to->seg, from->seg, from->ns * sizeof(*to->seg));
	memcpy(to->live, from->live, from->n * sizeof(*to->live));
	to->ns = from->ns;
	to->n = from->n;
	to->bytes = from->bytes;
}

static void seg_remove(struct model *m, unsigned i)
{
	memmove(&m->seg[i], &m->seg[i + 1], (m->ns - i - 1) * sizeof(*m->seg));
	m->ns--;
}

/* The segment that starts at or holds off. */
static unsigned seg_at(const struct model *m, uint64_t off)
{
	unsigned lo = 0, hi = m->ns;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (m->seg[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

static void seg_free(struct model *m, uint64_t off)
{
	unsigned i = seg_at(m, off);

	m->seg[i].hole = true;
	if (i + 1 < m->ns && m->seg[i + 1].hole) {
		m->seg[i].len += m->seg[i + 1].len;
		seg_remove(m, i + 1);
	}
	if (i > 0 && m->seg[i - 1].hole) {
		m->seg[i - 1].len += m->seg[i].len;
		seg_remove(m, i);
	}
}

/* Take [off, off + len) out of hole i, which holds it. */
static void seg_take(struct model *m, unsigned i, uint64_t off, uint64_t len)
{
	struct seg h = m->seg[i], part[3];
	unsigned k = 0;

	if (off > h.off)
		part[k++] = (struct seg){h.off, off - h.off, true};
	part[k++] = (struct seg){off, len, false};
	if (off + len < h.off + h.len)
		part[k++] = (struct seg){off + len, h.off + h.len - off - len,
					 true};
	memmove(&m->seg[i + k], &m->seg[i + 1],
		(m->ns - i - 1) * sizeof(*m->seg));
	memcpy(&m->seg[i], part, k * sizeof(*part));
	m->ns += k - 1;
}

static void model_free(struct model *m, unsigned k)
{
	struct live *b = &m->live[k];

	if (b->view) {
		struct view *v = &m->views[b->view - 1];

		for (unsigned p = 0; p < v->np; p++)
			seg_free(m, v->p[p].off);
		m->free_views[m->nfree++] = b->view - 1;
	} else {
		seg_free(m, b->off);
	}
	m->bytes -= b->req;
	*b = m->live[--m->n];
}

/* The length of segment j, or 0 beyond the pool's edges. */
static uint64_t seg_len(const struct model *m, long j)
{
	return j < 0 || j >= (long)m->ns ? 0 : m->seg[j].len;
}

/* The smallest hole that holds sz (the lowest of equals), or -1. */
static long model_best(const struct model *m, uint64_t sz)
{
	long best = -1;

	for (unsigned i = 0; i < m->ns; i++)
		if (m->seg[i].hole && m->seg[i].len >= sz &&
		    (best < 0 || m->seg[i].len < m->seg[best].len))
			best = i;
	return best;
}

/* regbuf's end of hole i: against the shorter neighbour (ties: bottom). */
static bool neighbour_low(const struct model *m, long i)
{
	return seg_len(m, i - 1) <= seg_len(m, i + 1);
}

static void model_put(struct model *m, unsigned i, bool low, uint64_t sz,
		      size_t req)
{
	uint64_t off = low ? m->seg[i].off : m->seg[i].off + m->seg[i].len - sz;

	seg_take(m, i, off, sz);
	m->live[m->n++] = (struct live){off, sz, req, 0};
	m->bytes += req;
}

/*
 * The what-if of a new view: sz bytes from whole free pages of page bytes
 * anywhere in the pool, smallest holes first (a view maps them again side
 * by side and is registered as a buffer of its own). -1 if too few.
 */
static int model_view(struct model *m, uint64_t page, uint64_t sz, size_t req)
{
	uint64_t need = (sz + page - 1) / page * page, have = 0;
	struct view v = {0};
	unsigned idx;

	while (have < need) {
		long best = -1;
		uint64_t lo = 0, hi = 0;

		/* The smallest hole with a whole page in it. */
		for (unsigned i = 0; i < m->ns; i++) {
			uint64_t a = (m->seg[i].off + page - 1) / page * page,
				 b = (m->seg[i].off + m->seg[i].len) / page *
				     page;

			if (!m->seg[i].hole || b <= a ||
			    (best >= 0 && m->seg[i].len >= m->seg[best].len))
				continue;
			best = i, lo = a, hi = b;
		}
		if (best < 0 || v.np == VIEW_PIECES || m->ns + 2 >= SEG_CAP)
			goto undo;
		if (hi - lo > need - have)
			hi = lo + need - have;
		seg_take(m, (unsigned)best, lo, hi - lo);
		v.p[v.np].off = lo, v.p[v.np].len = hi - lo, v.np++;
		have += hi - lo;
	}
	if (m->nfree) {
		idx = m->free_views[--m->nfree];
	} else {
		struct view *nv =
			realloc(m->views, (m->nviews + 1) * sizeof(*nv));
		unsigned *nf =
			realloc(m->free_views, (m->nviews + 1) * sizeof(*nf));

		if (nv)
			m->views = nv;
		if (nf)
			m->free_views = nf;
		if (!nv || !nf)
			goto undo;
		idx = m->nviews++;
	}
	m->views[idx] = v;
	m->live[m->n++] = (struct live){v.p[0].off, need, req, idx + 1};
	m->bytes += req;
	return 0;
undo:
	while (v.np)
		seg_free(m, v.p[--v.np].off);
	return -1;
}

/* Events until the first failure (at most horizon) with every buffer
 * placed by regbuf's rule. */
static unsigned rollout(struct model *m, struct mix x, unsigned horizon)
{
	unsigned k;
	size_t len;

	for (unsigned t = 0; t < horizon; t++) {
		if (mix_next(&x, m->n, &k, &len)) {
			model_free(m, k);
			continue;
		}
		uint64_t sz = (len + 4095) & ~4095ULL;
		long i = model_best(m, sz);

		if (i < 0)
			return t;
		model_put(m, (unsigned)i, neighbour_low(m, i), sz, len);
	}
	return horizon;
}

struct planner {
	struct model scratch;
	struct mix fresh; /* seeds of the rollouts that do not see ahead */
	bool foresight;
	double base[ROLLOUTS];
};

/*
 * Where the planner puts sz bytes (regbuf's choice is *i, *low): the
 * candidate that outlives regbuf's choice by more than two standard
 * errors over the same rollouts, if any. future: the real generator's
 * state, for the planner that sees ahead.
 */
static void plan(struct planner *p, const struct model *m, uint64_t sz,
		 size_t req, struct mix future, long *i, bool *low)
{
	unsigned nr = p->foresight ? 1 : ROLLOUTS,
		 horizon = p->foresight ? FORESIGHT : HORIZON;
	struct mix seeds[ROLLOUTS];
	long cand[CANDIDATES];
	unsigned nc = 0;
	double best_gain = 0;

	for (unsigned r = 0; r < nr; r++) {
		seeds[r] = p->foresight ? future
					: (struct mix){mix_step(&p->fresh)};
		model_copy(&p->scratch, m);
		model_put(&p->scratch, (unsigned)*i, *low, sz, req);
		p->base[r] = rollout(&p->scratch, seeds[r], horizon);
	}
	/* The CANDIDATES smallest holes that hold sz, smallest first. */
	for (unsigned j = 0; j < m->ns; j++) {
		unsigned at;

		if (!m->seg[j].hole || m->seg[j].len < sz ||
		    (nc == CANDIDATES &&
		     m->seg[j].len >= m->seg[cand[nc - 1]].len))
			continue;
		at = nc < CANDIDATES ? nc++ : nc - 1;
		for (; at > 0 && m->seg[cand[at - 1]].len > m->seg[j].len; at--)
			cand[at] = cand[at - 1];
		cand[at] = j;
	}
	long pick = *i;
	bool pick_low = *low;

	for (unsigned c = 0; c < nc; c++)
		for (int end = 0; end < 2; end++) {
			bool l = end == 0;
			double sum = 0, sq = 0;

			if ((cand[c] == *i && l == *low) ||
			    (!l && m->seg[cand[c]].len == sz))
				continue;
			for (unsigned r = 0; r < nr; r++) {
				double d;

				model_copy(&p->scratch, m);
				model_put(&p->scratch, (unsigned)cand[c], l, sz,
					  req);
				d = rollout(&p->scratch, seeds[r], horizon) -
				    p->base[r];
				sum += d, sq += d * d;
			}
			double mean = sum / nr,
			       se = nr > 1 ? sqrt((sq - sum * mean) / (nr - 1) /
						  nr)
					   : 0;

			if (mean > best_gain && mean > 3 * se) {
				best_gain = mean;
				pick = cand[c];
				pick_low = l;
			}
		}
	*i = pick;
	*low = pick_low;
}

/* The share of the pool asked for at the first failure in the model. */
static double fill_model(unsigned seed, enum place place, struct planner *p,
			 uint64_t page)
{
	struct model m;
	struct mix x = mix_seed(seed);
	double fill = -1;
	unsigned k;
	size_t len;

	if (model_init(&m))
		return -1;
	for (unsigned step = 0; step < 10000000; step++) {
		if (mix_next(&x, m.n, &k, &len)) {
			model_free(&m, k);
			continue;
		}
		uint64_t sz = (len + 4095) & ~4095ULL;
		long i = model_best(&m, sz);
		bool low = true;

		if (i < 0 && page && !model_view(&m, page, sz, len))
			continue;
		if (i < 0) {
			fill = (double)m.bytes / (double)FILL_POOL;
			break;
		}
		if (place == NEIGHBOUR)
			low = neighbour_low(&m, i);
		if (p && sz >= PLAN_FROM)
			plan(p, &m, sz, len, x, &i, &low);
		model_put(&m, (unsigned)i, low, sz, len);
	}
	model_destroy(&m);
	return fill;
}

/* The bound of an allocator that could move buffers: bytes only. */
static double fill_moving(unsigned seed)
{
	static uint64_t req[MAXLIVE], sz[MAXLIVE];
	struct mix x = mix_seed(seed);
	uint64_t bytes = 0, used = 0;
	unsigned n = 0, k;
	size_t len;

	for (unsigned step = 0; step < 10000000; step++) {
		if (mix_next(&x, n, &k, &len)) {
			bytes -= req[k], used -= sz[k];
			n--, req[k] = req[n], sz[k] = sz[n];
			continue;
		}
		uint64_t s = (len + 4095) & ~4095ULL;

		if (FILL_POOL - used < s)
			return (double)bytes / (double)FILL_POOL;
		req[n] = len, sz[n] = s, n++;
		bytes += len, used += s;
	}
	return -1;
}

int bench_frag(struct frag *f, bool planners)
{
	double asked[FRAG_SEEDS], held[FRAG_SEEDS], best[FRAG_SEEDS],
		moving[FRAG_SEEDS], plan_d[FRAG_SEEDS], plan_f[FRAG_SEEDS],
		view_4k[FRAG_SEEDS], view_2m[FRAG_SEEDS];
	struct planner p = {.fresh = {0x2545f4914f6cdd1dULL}};
	bool failed = false; /* a run could not be made (no memory) */

	if (planners && model_init(&p.scratch))
		return -1;
	for (unsigned k = 0; k < FRAG_SEEDS; k++) {
		struct frag_one r = fill_regbuf(k + 1);

		asked[k] = r.asked;
		held[k] = r.held;
		best[k] = fill_model(k + 1, BOTTOM, NULL, 0);
		view_4k[k] = fill_model(k + 1, NEIGHBOUR, NULL, 4096);
		view_2m[k] = fill_model(k + 1, NEIGHBOUR, NULL, 2 << 20);
		moving[k] = fill_moving(k + 1);
		failed |= asked[k] < 0 || best[k] < 0 || view_4k[k] < 0 ||
			  view_2m[k] < 0;
		if (!planners)
			continue;
		p.foresight = false;
		plan_d[k] = fill_model(k + 1, NEIGHBOUR, &p, 0);
		p.foresight = true;
		plan_f[k] = fill_model(k + 1, NEIGHBOUR, &p, 0);
		failed |= plan_d[k] < 0 || plan_f[k] < 0;
	}
	f->regbuf.asked = median(asked, FRAG_SEEDS);
	f->regbuf.held = median(held, FRAG_SEEDS);
	f->best_fit = median(best, FRAG_SEEDS);
	f->moving = median(moving, FRAG_SEEDS);
	f->view_4k = median(view_4k, FRAG_SEEDS);
	f->view_2m = median(view_2m, FRAG_SEEDS);
	f->planner = f->foresight = -1;
	if (planners) {
		f->planner = median(plan_d, FRAG_SEEDS);
		f->foresight = median(plan_f, FRAG_SEEDS);
		model_destroy(&p.scratch);
	}
	return failed ? -1 : 0;
}
