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
 *    costs its whole size once per head: once per ring up to 6.12 and
 *    from 7.2, and on 6.13 to 7.1 deduplicated against the current
 *    buffer's earlier pages and the previous head of this call only;
 *  - 7.2 counts huge pages in a per-ring xarray: no buffer is rescanned
 *    per huge folio, so mixed folio sizes cost only the lost coalescing.
 *
 * The pool's own slot layout, which reads folio maps, is layout.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folio.h"
#include "uapi.h"

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

/* Huge folio heads already charged. */
struct heads {
	uint64_t *at;
	unsigned nr, cap;
};

/* What a walk over one buffer's folios found. */
struct shape {
	uint64_t nr_pages, nr_folios, first_size;
	bool same;	 /* every folio the size of the first */
	bool entered_ok; /* no folio after the first entered part way */
	bool absent, compound;
};

/* Charge a huge folio at head of size bytes unless already charged: on
 * 6.13 to 7.1 by this buffer or as the previous head of the call (the
 * kernel's last_hpage); elsewhere once per ring (heads kept for the whole
 * call, the installed table still empty). */
static int charge_head(struct heads *h, uint64_t *last_head, bool per_ring,
		       uint64_t head, uint64_t size, uint64_t *charge)
{
	bool seen = !per_ring && head == *last_head;

	for (unsigned i = 0; !seen && i < h->nr; i++)
		seen = h->at[i] == head;
	*last_head = head;
	if (seen)
		return 0;
	if (h->nr == h->cap) {
		unsigned c = h->cap ? h->cap * 2 : 16;
		uint64_t *nh = rb_realloc(h->at, c * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		h->at = nh;
		h->cap = c;
	}
	h->at[h->nr++] = head;
	*charge += size;
	return 0;
}

/* Walk the folios of [s, s + len): its shape, and its charge into p. */
static int walk_buffer(const struct regbuf_map *m, uint64_t s, uint64_t len,
		       uint64_t *last_head, struct heads *h,
		       struct regbuf_prediction *p, struct shape *sh)
{
	uint64_t lo = s & ~4095ULL, hi = rb_align_up(s + len, 4096), pos = lo;
	bool per_ring = rb_hpage_per_ring();

	*sh = (struct shape){
		.nr_pages = (hi - lo) / 4096, .same = true, .entered_ok = true};
	if (!per_ring)
		h->nr = 0;
	while (pos < hi) {
		struct folio f;
		const char *why;
		int ret;

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
		sh->absent |= f.kind == REGBUF_RUN_ABSENT;
		if (!sh->nr_folios)
			sh->first_size = f.size;
		else if (f.size != sh->first_size)
			sh->same = false;
		/* A middle folio entered part way, or the first one left
		 * before its end while the buffer goes on, breaks coalescing.
		 */
		if (sh->nr_folios && pos != f.start)
			sh->entered_ok = false;
		if (f.size > 4096) {
			sh->compound = true;
			ret = charge_head(h, last_head, per_ring, f.start,
					  f.size, &p->charge);
			if (ret)
				return ret;
		} else {
			p->charge += 4096;
		}
		sh->nr_folios++;
		pos = f.start + f.size < hi ? f.start + f.size : hi;
	}
	return 0;
}

/* bio_vecs, metadata and cost class of a buffer of that shape. */
static void classify(const struct shape *sh, struct regbuf_prediction *p)
{
	bool multi_ok = rb_has(REGBUF_FEAT_COALESCE);
	const char *why;

	if (sh->nr_pages > 1 && sh->first_size > 4096 && sh->same &&
	    sh->entered_ok && (multi_ok || sh->nr_folios == 1)) {
		p->coalesced = 1;
		p->bvecs = sh->nr_folios;
	} else {
		p->bvecs = sh->nr_pages;
	}
	p->meta_bytes = RB_IMU_HEADER + RB_BVEC * p->bvecs;
	p->cost_class = REGBUF_COST_PER_PAGE;
	if (sh->absent) {
		p->cost_class = REGBUF_COST_FAULT;
		why = "pages not present: the kernel faults and zeroes them during registration (~100x slower)";
	} else if (p->coalesced) {
		p->cost_class = REGBUF_COST_FAST;
		snprintf(p->why, sizeof(p->why),
			 "%llu folio(s) of %llu KiB, one bio_vec each",
			 (unsigned long long)sh->nr_folios,
			 (unsigned long long)(sh->first_size >> 10));
		return;
	} else if (sh->compound && !sh->same && !rb_hpage_xarray()) {
		p->cost_class = REGBUF_COST_MIXED;
		why = "mixed folio sizes: no coalescing, and accounting rescans the buffer for every huge folio (~100x)";
	} else if (sh->compound && !sh->same) {
		why = "mixed folio sizes: no coalescing, one bio_vec per 4 KiB page (this kernel counts huge pages per ring, without the rescan)";
	} else if (sh->compound) {
		why = !multi_ok && sh->nr_folios > 1
			      ? "this kernel coalesces only buffers inside one huge folio (multi-folio needs 6.12)"
			      : "a huge folio is entered part way: one bio_vec per 4 KiB page";
	} else {
		why = "4 KiB pages: one bio_vec and one pin per page";
	}
	snprintf(p->why, sizeof(p->why), "%s", why);
}

static int predict_one(const struct regbuf_map *m, uint64_t s, uint64_t len,
		       uint64_t *last_head, struct heads *h,
		       struct regbuf_prediction *p)
{
	struct shape sh;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = walk_buffer(m, s, len, last_head, h, p, &sh);
	if (!ret)
		classify(&sh, p);
	return ret;
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

	if (*n >= IORING_MAX_REG_BUFFERS)
		return rb_err(
			-E2BIG,
			"the plan needs more than %u slots (the kernel's limit); use larger pages or a larger max slot",
			IORING_MAX_REG_BUFFERS);
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
