/* SPDX-License-Identifier: MIT */
/*
 * bench alloc's fill workload and the model of a pool it runs on (see
 * frag_model.h and bench_frag.c for what is measured).
 */
#include <stdlib.h>
#include <string.h>

#include "frag_model.h"

uint64_t mix_step(struct mix *m)
{
	uint64_t x = m->x;

	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return m->x = x;
}

bool mix_next(struct mix *m, unsigned n, unsigned *victim, size_t *len)
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

struct mix mix_seed(unsigned seed)
{
	return (struct mix){seed * 0x9e3779b97f4a7c15ULL + 1};
}

/* ---- the model: address-ordered holes and buffers ---- */

int model_init(struct model *m)
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

void model_destroy(struct model *m)
{
	free(m->seg);
	free(m->live);
	free(m->views);
	free(m->free_views);
}

void model_copy(struct model *to, const struct model *from)
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

void model_free(struct model *m, unsigned k)
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
long model_best(const struct model *m, uint64_t sz)
{
	long best = -1;

	for (unsigned i = 0; i < m->ns; i++)
		if (m->seg[i].hole && m->seg[i].len >= sz &&
		    (best < 0 || m->seg[i].len < m->seg[best].len))
			best = i;
	return best;
}

/* regbuf's end of hole i: against the shorter neighbour (ties: bottom). */
bool neighbour_low(const struct model *m, long i)
{
	return seg_len(m, i - 1) <= seg_len(m, i + 1);
}

void model_put(struct model *m, unsigned i, bool low, uint64_t sz, size_t req)
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

double fill_model(unsigned seed, enum place place, uint64_t page,
		  frag_chooser choose, void *ctx)
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
		if (choose && sz >= (1 << 20))
			choose(ctx, &m, sz, len, x, &i, &low);
		model_put(&m, (unsigned)i, low, sz, len);
	}
	model_destroy(&m);
	return fill;
}

double fill_moving(unsigned seed)
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
