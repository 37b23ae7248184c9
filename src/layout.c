/* SPDX-License-Identifier: MIT */
/*
 * The pool's slot layout: for each chunk, its folio map (the backing's one
 * run, or for populated THP chunks the runs the kernel shows), planned by
 * regbuf_plan() (plan.c, pure) into slots; the slot table and iovecs the
 * registry registers; and, for PARTIAL pools, the slot split that makes
 * what fits RLIMIT_MEMLOCK registrable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "uapi.h"

/* The one run a chunk is by its backing (4 KiB pages: folios of 4 KiB). */
static struct regbuf_run chunk_run(const struct regbuf_pool *p,
				   const struct rb_chunk *ch)
{
	struct regbuf_run run = {
		.start = (uint64_t)(uintptr_t)(p->base + ch->offset),
		.len = ch->len,
		.folio_size = ch->page_size,
		.kind = REGBUF_RUN_4K,
	};

	if (ch->backing == REGBUF_BACKING_HUGE_1G ||
	    ch->backing == REGBUF_BACKING_HUGE_2M)
		run.kind = REGBUF_RUN_HUGETLB;
	else if (ch->backing == REGBUF_BACKING_THP)
		run.kind = REGBUF_RUN_THP;
	else
		run.folio_size = 4096;
	return run;
}

/*
 * The folio map a chunk is planned from: caller memory's own map (only it
 * can tell), a populated THP chunk's map (huge and 4 KiB parts, absent
 * parts counted as the 4 KiB pages they will be), else *syn, the chunk's
 * one run. *m is to be destroyed when it is not syn.
 */
static int chunk_map(const struct rb_chunk *ch, struct regbuf_map *syn,
		     struct regbuf_map **m)
{
	const struct regbuf_run *r = syn->runs;
	int ret;

	*m = syn;
	if (ch->backing == REGBUF_BACKING_CALLER) {
		ret = rb_map_create(0, r->start, r->len, false, m);
		if (!ret)
			return 0;
		*m = syn;
		/* keep the map's own reason when it gave one */
		return regbuf_last_error()[0]
			       ? ret
			       : rb_err(ret,
					"reading the folio map of the memory failed: %s",
					strerror(-ret));
	}
	if (ch->backing == REGBUF_BACKING_THP && ch->populated &&
	    !rb_map_create(0, r->start, r->len, false, m)) {
		for (unsigned i = 0; i < (*m)->nr_runs; i++)
			if ((*m)->runs[i].kind == REGBUF_RUN_ABSENT) {
				(*m)->runs[i].kind = REGBUF_RUN_4K;
				(*m)->runs[i].folio_size = 4096;
			}
	} else {
		*m = syn;
	}
	return 0;
}

/* Append map m's plan to *ps (n of cap used), offsets from the pool base. */
static int append_plan(const struct regbuf_pool *p, const struct regbuf_map *m,
		       struct regbuf_plan_slot **ps, unsigned *n, unsigned *cap)
{
	int k = regbuf_plan(m, p->max_slot, NULL, 0);

	if (k >= 0 && *n + (unsigned)k > *cap) {
		struct regbuf_plan_slot *np =
			rb_realloc(*ps, (*n + (unsigned)k) * sizeof(*np));

		if (!np)
			return -ENOMEM;
		*ps = np;
		*cap = *n + (unsigned)k;
	}
	if (k >= 0)
		k = regbuf_plan(m, p->max_slot, *ps + *n, (unsigned)k);
	for (int i = 0; i < k; i++)
		(*ps)[*n + (unsigned)i].offset +=
			m->addr - (uint64_t)(uintptr_t)p->base;
	if (k > 0)
		*n += (unsigned)k;
	return k < 0 ? k : 0;
}

/* Plan chunks [first_chunk, nr_chunks) of the pool: *out (malloc'd), *nout. */
static int plan_chunks(struct regbuf_pool *p, unsigned first_chunk,
		       struct regbuf_plan_slot **out, unsigned *nout)
{
	struct regbuf_plan_slot *ps = NULL;
	unsigned n = 0, cap = 0;
	int ret = 0;

	for (unsigned c = first_chunk; c < p->nr_chunks && !ret; c++) {
		struct regbuf_run run = chunk_run(p, &p->chunks[c]);
		struct regbuf_map syn = {.addr = run.start,
					 .len = run.len,
					 .nr_runs = 1,
					 .runs = &run},
				  *m;

		ret = chunk_map(&p->chunks[c], &syn, &m);
		if (!ret)
			ret = append_plan(p, m, &ps, &n, &cap);
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
	if (n > IORING_MAX_REG_BUFFERS) {
		free(ps);
		return rb_err(-E2BIG,
			      "pool needs %u slots, the kernel allows %u", n,
			      IORING_MAX_REG_BUFFERS);
	}
	/* A growable pool's tables never move: room for every slot. */
	cap = p->flags & REGBUF_POOL_GROWABLE ? IORING_MAX_REG_BUFFERS : n;
	p->slots = rb_calloc(cap ? cap : 1, sizeof(*p->slots));
	p->iov = rb_calloc(cap ? cap : 1, sizeof(*p->iov));
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
		ns = rb_realloc(p->slots, (p->nr_slots + 1) * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		p->slots = ns;
		ni = rb_realloc(p->iov, (p->nr_slots + 1) * sizeof(*ni));
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
