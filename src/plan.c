/* SPDX-License-Identifier: MIT */
/*
 * Pure logic over folio maps: what the kernel will do with a registration
 * (prediction), and how regbuf lays memory out in slots so it never hits
 * the slow paths (plan). No system calls here beyond the cached feature
 * bits; unit-tested on synthetic maps.
 *
 * Kernel rules modelled (6.18 io_uring/rsrc.c):
 *  - coalescing: all folios the same size, the first may be entered part
 *    way but must be covered to its end, middle ones fully covered, the
 *    last may end early; folios of one page never coalesce;
 *  - before 6.12 only a buffer inside a single huge folio coalesces;
 *  - accounting: an order-0 page costs a page each time; a compound page
 *    costs its whole size once per head, deduplicated against the current
 *    buffer's earlier pages and the previous head of this call only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "uapi.h"
#include "sys.h"

#define RB_IMU_HEADER 56 /* struct io_mapped_ubuf before its bvecs */
#define RB_BVEC	      16

struct folio {
	uint64_t start, size;
	uint32_t kind;
	uint32_t flags;
};

/* The folio containing addr (virtually aligned to its size). */
static int folio_at(const struct regbuf_map *m, uint64_t addr, struct folio *f)
{
	for (unsigned i = 0; i < m->nr_runs; i++) {
		const struct regbuf_run *r = &m->runs[i];

		if (addr < r->start || addr >= r->start + r->len)
			continue;
		f->kind = r->kind;
		f->flags = r->flags;
		f->size = r->folio_size ? r->folio_size : 4096;
		if (r->kind == REGBUF_RUN_ABSENT)
			f->size = 4096;
		f->start = addr & ~(f->size - 1);
		return 0;
	}
	return -EFAULT;
}

static const char *refusal(uint32_t flags)
{
	if (flags & REGBUF_RUN_RO)
		return "read-only memory cannot be pinned for writing";
	if (flags & REGBUF_RUN_SHARED_FILE)
		return "a shared mapping of a file on a writeback file system cannot be pinned long-term";
	return NULL;
}

RB_EXPORT const char *regbuf_cost_class_name(int cost)
{
	static const char *const n[] = {"fast", "per_page", "mixed", "fault",
					"refused"};

	return cost >= 0 && cost < (int)RB_ARRAY_SIZE(n) ? n[cost] : "?";
}

/* Huge folio heads already charged. */
struct heads {
	uint64_t *at;
	unsigned nr, cap;
};

/* Before 7.2 a buffer's huge folio is charged unless this buffer or the
 * previous one (the kernel's last_hpage) already charged it: heads are
 * per buffer, last_head carries over. From 7.2 a huge folio is charged
 * once per ring: heads are kept for the whole call (the installed table
 * is still empty). */
static int predict_one(const struct regbuf_map *m, uint64_t s, uint64_t len,
		       uint64_t *last_head, struct heads *h,
		       struct regbuf_prediction *p)
{
	uint64_t lo = s & ~4095ULL, hi = rb_align_up(s + len, 4096);
	uint64_t first_size = 0, nr_pages = (hi - lo) / 4096, nr_folios = 0;
	bool same = true, absent = false, compound = false, entered_ok = true;
	bool per_ring = rb_hpage_per_ring(), rescan = !rb_hpage_xarray();
	uint64_t pos = lo;

	memset(p, 0, sizeof(*p));
	if (!per_ring)
		h->nr = 0;
	while (pos < hi) {
		struct folio f;
		const char *why;
		uint64_t fend;

		if (folio_at(m, pos, &f)) {
			p->cost_class = REGBUF_COST_REFUSED;
			snprintf(p->why, sizeof(p->why),
				 "0x%llx is outside the map",
				 (unsigned long long)pos);
			return -EFAULT;
		}
		why = refusal(f.flags);
		if (why || f.kind == REGBUF_RUN_UNMAPPED) {
			p->cost_class = REGBUF_COST_REFUSED;
			snprintf(p->why, sizeof(p->why), "0x%llx: %s",
				 (unsigned long long)pos,
				 why ? why : "not mapped");
			return -EFAULT;
		}
		if (f.kind == REGBUF_RUN_ABSENT)
			absent = true;
		fend = f.start + f.size;
		if (!nr_folios)
			first_size = f.size;
		else if (f.size != first_size)
			same = false;
		/* A middle folio entered part way, or the first one left
		 * before its end while the buffer goes on, breaks coalescing.
		 */
		if (nr_folios && pos != f.start)
			entered_ok = false;
		if (f.size > 4096) {
			compound = true;
			/* Charge: whole folio once per head. */
			bool seen = !per_ring && f.start == *last_head;

			for (unsigned i = 0; !seen && i < h->nr; i++)
				seen = h->at[i] == f.start;
			if (!seen) {
				p->charge += f.size;
				if (h->nr == h->cap) {
					unsigned c = h->cap ? h->cap * 2 : 16;
					uint64_t *nh =
						realloc(h->at, c * sizeof(*nh));

					if (!nh)
						return -ENOMEM;
					h->at = nh;
					h->cap = c;
				}
				h->at[h->nr++] = f.start;
			}
			*last_head = f.start;
		} else {
			p->charge += 4096;
		}
		nr_folios++;
		pos = fend < hi ? fend : hi;
	}

	bool multi_ok = rb_has(REGBUF_FEAT_COALESCE);

	if (nr_pages > 1 && first_size > 4096 && same && entered_ok &&
	    (multi_ok || nr_folios == 1)) {
		p->coalesced = 1;
		p->bvecs = nr_folios;
	} else {
		p->bvecs = nr_pages;
	}
	p->meta_bytes = RB_IMU_HEADER + RB_BVEC * p->bvecs;
	if (absent) {
		p->cost_class = REGBUF_COST_FAULT;
		snprintf(
			p->why, sizeof(p->why),
			"pages not present: the kernel faults and zeroes them during registration (~100x slower)");
	} else if (p->coalesced) {
		p->cost_class = REGBUF_COST_FAST;
		snprintf(p->why, sizeof(p->why),
			 "%llu folio(s) of %llu KiB, one bio_vec each",
			 (unsigned long long)nr_folios,
			 (unsigned long long)(first_size >> 10));
	} else if (compound && !same && rescan) {
		p->cost_class = REGBUF_COST_MIXED;
		snprintf(
			p->why, sizeof(p->why),
			"mixed folio sizes: no coalescing, and accounting rescans the buffer for every huge folio (~100x)");
	} else if (compound && !same) {
		p->cost_class = REGBUF_COST_PER_PAGE;
		snprintf(
			p->why, sizeof(p->why),
			"mixed folio sizes: no coalescing, one bio_vec per 4 KiB page (this kernel counts huge pages per ring, without the rescan)");
	} else if (compound) {
		p->cost_class = REGBUF_COST_PER_PAGE;
		snprintf(
			p->why, sizeof(p->why),
			!multi_ok && nr_folios > 1
				? "this kernel coalesces only buffers inside one huge folio (multi-folio needs 6.12)"
				: "a huge folio is entered part way: one bio_vec per 4 KiB page");
	} else {
		p->cost_class = REGBUF_COST_PER_PAGE;
		snprintf(p->why, sizeof(p->why),
			 "4 KiB pages: one bio_vec and one pin per page");
	}
	return 0;
}

RB_EXPORT int regbuf_predict(const struct regbuf_map *map,
			     const struct iovec *bufs, unsigned nr,
			     struct regbuf_prediction *out)
{
	uint64_t last_head = UINT64_MAX;
	struct heads h = {0};
	int ret = 0;

	if (!map || !bufs || !out || !nr)
		return rb_err(
			-EINVAL,
			"regbuf_predict: map, bufs, out and nr > 0 are required");
	for (unsigned i = 0; i < nr; i++) {
		uint64_t s = (uint64_t)(uintptr_t)bufs[i].iov_base;
		uint64_t len = bufs[i].iov_len;

		if (!len || len > rb_max_buf_size() || s + len < s)
			return rb_err(-EINVAL,
				      "buffer %u: length %llu out of range", i,
				      (unsigned long long)len);
	}
	for (unsigned i = 0; i < nr; i++) {
		int r = predict_one(map, (uint64_t)(uintptr_t)bufs[i].iov_base,
				    bufs[i].iov_len, &last_head, &h, &out[i]);

		if (r && !ret)
			ret = rb_err(r, "buffer %u: %s", i, out[i].why);
	}
	free(h.at);
	return ret;
}

/* ---- plan ---- */

static int emit(struct regbuf_plan_slot *slots, unsigned max_out, unsigned *n,
		const struct regbuf_map *m, uint64_t s, uint64_t len,
		const struct regbuf_run *r)
{
	struct regbuf_plan_slot sl = {0};
	uint64_t fs = r->folio_size ? r->folio_size : 4096;

	if (*n >= RB_MAX_REG_BUFFERS)
		return rb_err(
			-E2BIG,
			"the plan needs more than %u slots (the kernel's limit); use larger pages or a larger max slot",
			RB_MAX_REG_BUFFERS);
	sl.offset = s - m->addr;
	sl.len = len;
	sl.kind = (int32_t)r->kind;
	sl.folio_size = r->kind == REGBUF_RUN_ABSENT ? 0 : fs;
	if (r->kind == REGBUF_RUN_ABSENT || fs <= 4096) {
		sl.bvecs = len / 4096;
		sl.charge = len;
	} else {
		uint64_t first = s & ~(fs - 1);
		uint64_t last = rb_align_up(s + len, fs);

		sl.bvecs = rb_has(REGBUF_FEAT_COALESCE) || last - first == fs
				   ? (last - first) / fs
				   : len / 4096;
		sl.charge = last - first;
	}
	if (*n < max_out && slots)
		slots[*n] = sl;
	(*n)++;
	return 0;
}

RB_EXPORT int regbuf_plan(const struct regbuf_map *map, uint64_t max_slot,
			  struct regbuf_plan_slot *slots, unsigned max_out)
{
	unsigned n = 0;
	int ret;

	if (!map || (max_out && !slots))
		return rb_err(-EINVAL, "regbuf_plan: map required");
	if (!max_slot || max_slot > rb_max_buf_size())
		max_slot = rb_max_buf_size();
	if (max_slot < 4096 || (max_slot & 4095))
		return rb_err(-EINVAL, "max slot must be a multiple of 4096");
	for (unsigned i = 0; i < map->nr_runs; i++) {
		const struct regbuf_run *r = &map->runs[i];
		const char *why = refusal(r->flags);
		uint64_t fs = r->folio_size ? r->folio_size : 4096;
		uint64_t step = max_slot, pos = r->start,
			 end = r->start + r->len;

		if (why || r->kind == REGBUF_RUN_UNMAPPED)
			return rb_err(-EFAULT, "0x%llx: %s",
				      (unsigned long long)r->start,
				      why ? why : "not mapped");
		/* Slot cuts fall on folio boundaries. */
		if (fs > step)
			return rb_err(
				-EINVAL,
				"max slot %llu is smaller than a %llu folio",
				(unsigned long long)max_slot,
				(unsigned long long)fs);
		step &= ~(fs - 1);
		while (pos < end) {
			uint64_t cut = (pos & ~(step - 1)) + step;

			if (!rb_is_pow2(step))
				cut = pos + step;
			if (cut > end)
				cut = end;
			ret = emit(slots, max_out, &n, map, pos, cut - pos, r);
			if (ret)
				return ret;
			pos = cut;
		}
	}
	return (int)n;
}

/* Slots of a pool: per chunk, one run of its backing, or for populated THP
 * chunks the runs the folio map finds (huge and 4 KiB parts split). */
/* Plan chunks [first_chunk, nr_chunks) of the pool: *out (malloc'd), *nout. */
static int plan_chunks(struct regbuf_pool *p, unsigned first_chunk,
		       struct regbuf_plan_slot **out, unsigned *nout)
{
	struct regbuf_plan_slot *ps = NULL;
	unsigned n = 0, cap = 0;
	int ret = 0;

	for (unsigned c = first_chunk; c < p->nr_chunks && !ret; c++) {
		const struct rb_chunk *ch = &p->chunks[c];
		struct regbuf_map syn = {0}, *m = &syn;
		struct regbuf_run run = {0};
		int k;

		run.start = (uint64_t)(uintptr_t)(p->base + ch->offset);
		run.len = ch->len;
		run.folio_size = ch->page_size;
		switch (ch->backing) {
		case REGBUF_BACKING_HUGE_1G:
		case REGBUF_BACKING_HUGE_2M:
			run.kind = REGBUF_RUN_HUGETLB;
			break;
		case REGBUF_BACKING_THP:
			run.kind = REGBUF_RUN_THP;
			break;
		default:
			run.kind = REGBUF_RUN_4K;
			run.folio_size = 4096;
		}
		syn.addr = run.start;
		syn.len = run.len;
		syn.nr_runs = 1;
		syn.runs = &run;
		if (ch->backing == REGBUF_BACKING_CALLER) {
			/* Caller memory: only its map can tell. */
			k = rb_map_create(0, run.start, run.len, false, &m);
			if (k) {
				/* keep the map's own reason when it gave one */
				ret = regbuf_last_error()[0]
					      ? k
					      : rb_err(k,
						       "reading the folio map of the memory failed: %s",
						       strerror(-k));
				break;
			}
		} else if (ch->backing == REGBUF_BACKING_THP && ch->populated &&
			   rb_map_create(0, run.start, run.len, false, &m) ==
				   0) {
			/* Absent parts of a populated chunk are 4K to be. */
			for (unsigned i = 0; i < m->nr_runs; i++)
				if (m->runs[i].kind == REGBUF_RUN_ABSENT) {
					m->runs[i].kind = REGBUF_RUN_4K;
					m->runs[i].folio_size = 4096;
				}
		} else {
			m = &syn;
		}
		k = regbuf_plan(m, p->max_slot, NULL, 0);
		if (k >= 0 && n + (unsigned)k > cap) {
			unsigned nc = n + (unsigned)k;
			struct regbuf_plan_slot *np =
				realloc(ps, nc * sizeof(*np));

			if (!np)
				k = -ENOMEM;
			else
				ps = np, cap = nc;
		}
		if (k >= 0)
			k = regbuf_plan(m, p->max_slot, ps + n, (unsigned)k);
		if (k < 0) {
			ret = k;
		} else {
			for (int i = 0; i < k; i++)
				ps[n + (unsigned)i].offset +=
					m->addr - (uint64_t)(uintptr_t)p->base;
			n += (unsigned)k;
		}
		if (m != &syn)
			regbuf_map_destroy(m);
	}
	if (ret) {
		free(ps);
		return ret;
	}
	*out = ps;
	*nout = n;
	return 0;
}

static void fill_slot(struct regbuf_pool *p, unsigned i,
		      const struct regbuf_plan_slot *ps)
{
	struct rb_slot *s = &p->slots[i];

	s->offset = ps->offset;
	s->len = ps->len;
	s->page_size = ps->folio_size ? ps->folio_size : 4096;
	s->bvecs = ps->bvecs;
	s->charge = ps->charge;
	s->registered = false;
	s->backing = ps->kind == REGBUF_RUN_HUGETLB
			     ? (s->page_size == RB_GIB ? REGBUF_BACKING_HUGE_1G
						       : REGBUF_BACKING_HUGE_2M)
		     : ps->kind == REGBUF_RUN_THP ? REGBUF_BACKING_THP
						  : REGBUF_BACKING_PAGES;
	p->iov[i].iov_base = p->base + s->offset;
	p->iov[i].iov_len = s->len;
}

int rb_plan_pool(struct regbuf_pool *p, uint64_t max_slot)
{
	struct regbuf_plan_slot *ps = NULL;
	unsigned n = 0, cap;
	int ret;

	p->max_slot = max_slot ? max_slot : rb_max_buf_size();
	ret = plan_chunks(p, 0, &ps, &n);
	if (ret)
		return ret;
	if (n > RB_MAX_REG_BUFFERS) {
		free(ps);
		return rb_err(-E2BIG,
			      "pool needs %u slots, the kernel allows %u", n,
			      RB_MAX_REG_BUFFERS);
	}
	/* A growable pool's tables never move: room for every slot. */
	cap = p->flags & REGBUF_POOL_GROWABLE ? RB_MAX_REG_BUFFERS : n;
	p->slots = calloc(cap ? cap : 1, sizeof(*p->slots));
	p->iov = calloc(cap ? cap : 1, sizeof(*p->iov));
	if (!p->slots || !p->iov) {
		free(p->slots);
		free(p->iov);
		p->slots = NULL;
		p->iov = NULL;
		free(ps);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		fill_slot(p, i, &ps[i]);
	p->nr_slots = n;
	p->slots_cap = cap;
	free(ps);
	return 0;
}

/*
 * PARTIAL pools: split the first slot that would cross budget (bytes of
 * memlock charge left for the slots, in order) so that its head, whole
 * pages of the slot, fits exactly. Slots are uniform (one folio size), so
 * the head's charge and bio_vecs are its share of the slot's. Returns 1 if
 * a slot was split, 0 if none needed it (or the head would be empty),
 * -ENOMEM.
 */
int rb_plan_fit_budget(struct regbuf_pool *p, uint64_t budget)
{
	uint64_t used = 0;

	for (unsigned i = 0; i < p->nr_slots; i++) {
		struct rb_slot *s = &p->slots[i], head, tail;
		struct rb_slot *ns;
		struct iovec *ni;

		if (used + s->charge <= budget) {
			used += s->charge;
			continue;
		}
		head = tail = *s;
		head.len = (budget - used) & ~(s->page_size - 1);
		if (!head.len || head.len >= s->len || s->charge != s->len)
			return 0;
		head.charge = head.len;
		head.bvecs = s->bvecs * head.len / s->len;
		tail.offset += head.len;
		tail.len -= head.len;
		tail.charge -= head.charge;
		tail.bvecs -= head.bvecs;
		ns = realloc(p->slots, (p->nr_slots + 1) * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		p->slots = ns;
		ni = realloc(p->iov, (p->nr_slots + 1) * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		p->iov = ni;
		memmove(&p->slots[i + 1], &p->slots[i],
			(p->nr_slots - i) * sizeof(*ns));
		memmove(&p->iov[i + 1], &p->iov[i],
			(p->nr_slots - i) * sizeof(*ni));
		p->slots[i] = head;
		p->slots[i + 1] = tail;
		p->iov[i] = (struct iovec){p->base + head.offset, head.len};
		p->iov[i + 1] = (struct iovec){p->base + tail.offset, tail.len};
		p->nr_slots++;
		p->slots_cap = p->nr_slots;
		return 1;
	}
	return 0;
}

int rb_plan_append(struct regbuf_pool *p, unsigned first_chunk)
{
	struct regbuf_plan_slot *ps = NULL;
	unsigned n = 0;
	int ret = plan_chunks(p, first_chunk, &ps, &n);

	if (ret)
		return ret;
	if (p->nr_slots + n > p->slots_cap) {
		free(ps);
		return rb_err(-ENOSPC, "growing needs %u slots, %u are left", n,
			      p->slots_cap - p->nr_slots);
	}
	/* Filled beyond nr_slots: published once registered (alloc.c). */
	for (unsigned i = 0; i < n; i++)
		fill_slot(p, p->nr_slots + i, &ps[i]);
	free(ps);
	return (int)n;
}
