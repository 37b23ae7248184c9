/* SPDX-License-Identifier: MIT */
/*
 * Obtaining pool memory. The pool's address range is reserved first
 * (PROT_NONE) so that chunks of different backings sit back to back at
 * aligned offsets; each chunk records how it was obtained, and release
 * undoes exactly that. Fallback order: 1G hugetlb, 2M hugetlb, THP, 4K.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pool.h"
#include "sys.h"

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0x4000
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif
#ifndef F_SEAL_SHRINK
#define F_SEAL_SEAL   0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW   0x0004
#endif

struct level {
	int backing;
	uint64_t page_size; /* backing page (THP: the PMD size it aims for) */
	int map_flags;
	unsigned mfd_flags;
};

static const struct level levels[] = {
	{REGBUF_BACKING_HUGE_1G, RB_GIB, MAP_HUGETLB | MAP_HUGE_1GB,
	 MFD_HUGETLB | MFD_HUGE_1GB},
	{REGBUF_BACKING_HUGE_2M, 2 * RB_MIB, MAP_HUGETLB | MAP_HUGE_2MB,
	 MFD_HUGETLB | MFD_HUGE_2MB},
	{REGBUF_BACKING_THP, 2 * RB_MIB, 0, 0},
	{REGBUF_BACKING_PAGES, 4096, 0, 0},
};

static const struct level *level_of(int backing)
{
	for (unsigned i = 0; i < RB_ARRAY_SIZE(levels); i++)
		if (levels[i].backing == backing)
			return &levels[i];
	return NULL;
}

static bool is_hugetlb(int backing)
{
	return backing == REGBUF_BACKING_HUGE_1G ||
	       backing == REGBUF_BACKING_HUGE_2M;
}

static bool thp_usable(char *why, size_t n)
{
	struct regbuf_machine m = {.struct_size = sizeof(m)};

	regbuf_machine_get(&m);
	if (!strcmp(m.thp, "never")) {
		snprintf(why, n, "transparent hugepages are disabled (never)");
		return false;
	}
	return true;
}

/* Map one chunk at p->base + off; returns 0 or -errno (nothing mapped). */
static int map_chunk(struct regbuf_pool *p, const struct level *lv,
		     uint64_t off, uint64_t len, int fd)
{
	void *want = p->base + off, *got = NULL;
	int flags = MAP_FIXED | lv->map_flags;
	int ret;

	if (fd >= 0)
		flags = MAP_FIXED | MAP_SHARED;
	else
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
	ret = rb_mmap(&got, want, len, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (ret)
		return ret;
	if (lv->backing == REGBUF_BACKING_THP)
		ret = rb_madvise(got, len, MADV_HUGEPAGE);
	else if (lv->backing == REGBUF_BACKING_PAGES)
		ret = rb_madvise(got, len, MADV_NOHUGEPAGE);
	if (!ret && p->numa_node >= 0)
		ret = rb_mbind(got, len, p->numa_node);
	/* fork() would copy pinned private pages eagerly: keep them out. */
	if (!ret && fd < 0 && !(p->flags & REGBUF_POOL_FORK_COPY))
		ret = rb_madvise(got, len, MADV_DONTFORK);
	if (ret) {
		/* Put the reservation back in place of the failed chunk. */
		void *r = NULL;

		rb_mmap(&r, want, len, PROT_NONE,
			MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			-1, 0);
		return ret;
	}
	struct rb_chunk *c = &p->chunks[p->nr_chunks++];

	c->offset = off;
	c->len = len;
	c->page_size = lv->page_size;
	c->backing = lv->backing;
	c->owner = RB_OWN_POOL;
	c->shared = fd >= 0;
	return 0;
}

static int reserve(struct regbuf_pool *p, uint64_t len, uint64_t align)
{
	uint64_t res_len = len + align;
	void *res = NULL;
	int ret;

	if (res_len < len)
		return rb_err(-EOVERFLOW, "pool size overflows");
	ret = rb_mmap(&res, NULL, res_len, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ret)
		return rb_err(ret, "cannot reserve %llu bytes of address space",
			      (unsigned long long)res_len);
	p->res_base = res;
	p->res_len = res_len;
	p->base = (uint8_t *)rb_align_up((uint64_t)(uintptr_t)res, align);
	return 0;
}

/* Free hugepages of lv's size for the pool's node (0 if unknown). */
static uint64_t hugetlb_free(const struct regbuf_pool *p,
			     const struct level *lv)
{
	uint64_t free;

	return rb_free_hugepages(lv->page_size, p->numa_node, &free) ? 0 : free;
}

/*
 * The fallback walk, the one way every pool gets memory: from level start
 * (the backing asked for, or AUTO's best) down to 4 KiB pages, each level
 * that can give something now gives it through take(), until want bytes
 * are had. A level that cannot (hugepages short, THP disabled, take()
 * failing) is noted and passed; STRICT stops at the first. With partial, a
 * hugetlb level gives what its free pages hold (1G pages only where they
 * are filled, unless asked for; 2M pages round the tail up) and the next
 * level gives the rest; without, a level gives all or nothing.
 */
struct walk {
	unsigned start;
	bool strict, partial, asked;
	bool check_thp; /* skip THP where it is disabled (not for memfds) */
	uint64_t want;	/* bytes still wanted */
	/* lv's len bytes: 0 taken, -errno failed (noted by the walk) */
	int (*take)(struct regbuf_pool *p, const struct level *lv, uint64_t len,
		    struct walk *w);
	int fd;		  /* shared: the memfd taken */
	uint64_t off;	  /* private: where the next chunk goes */
	uint64_t room;	  /* extend: the end of the reservation */
	const char *what; /* "" or "grow: " before notes */
	char strict_why[300];
};

/* What lv can give toward w->want now (0: nothing, the note says why). */
static uint64_t level_grant(struct regbuf_pool *p, const struct level *lv,
			    struct walk *w, bool asked)
{
	char why[160];

	if (is_hugetlb(lv->backing)) {
		uint64_t free = hugetlb_free(p, lv), n;

		if (!w->partial || asked ||
		    lv->backing == REGBUF_BACKING_HUGE_2M)
			n = (w->want + lv->page_size - 1) / lv->page_size;
		else
			n = w->want / lv->page_size;
		if (n > free) {
			/* hugepages are reserved per node, and run out per
			 * node: a pool bound to one says which */
			char at[32] = "", sys[64] = "/sys/kernel/mm/hugepages";

			if (p->numa_node >= 0) {
				snprintf(at, sizeof(at), " on NUMA node %d",
					 p->numa_node);
				snprintf(
					sys, sizeof(sys),
					"/sys/devices/system/node/node%d/hugepages",
					p->numa_node);
			}
			rb_note(p->notes, sizeof(p->notes),
				"%s%s: %llu pages wanted, %llu free%s", w->what,
				regbuf_backing_name(lv->backing),
				(unsigned long long)n, (unsigned long long)free,
				at);
			snprintf(
				w->strict_why, sizeof(w->strict_why),
				"%llu hugepages, %llu free%s: reserve more in %s/hugepages-%llukB/nr_hugepages",
				(unsigned long long)n, (unsigned long long)free,
				at, sys,
				(unsigned long long)(lv->page_size >> 10));
			n = w->partial && !w->strict ? free : 0;
		}
		return n * lv->page_size;
	}
	if (lv->backing == REGBUF_BACKING_THP && w->check_thp &&
	    !thp_usable(why, sizeof(why))) {
		rb_note(p->notes, sizeof(p->notes), "%sthp: %s", w->what, why);
		snprintf(w->strict_why, sizeof(w->strict_why), "%s", why);
		return 0;
	}
	return rb_align_up(w->want, lv->page_size);
}

/* 0 when the walk got all it wanted, else the last level's error. */
static int walk_levels(struct regbuf_pool *p, struct walk *w)
{
	int ret = -ENOMEM;

	for (unsigned i = w->start; i < RB_ARRAY_SIZE(levels) && w->want; i++) {
		const struct level *lv = &levels[i];
		bool asked = w->asked && i == w->start;
		uint64_t len;

		if (w->strict && i != w->start)
			break;
		if (p->nr_chunks == RB_MAX_CHUNKS)
			break;
		w->strict_why[0] = '\0';
		len = level_grant(p, lv, w, asked);
		if (!len) {
			ret = -ENOMEM;
			continue;
		}
		ret = w->take(p, lv, len, w);
		if (ret) {
			rb_note(p->notes, sizeof(p->notes), "%s%s: %s", w->what,
				regbuf_backing_name(lv->backing),
				strerror(-ret));
			/* 4 KiB pages failing is the end of the road */
			if (lv->backing == REGBUF_BACKING_PAGES)
				return ret;
			continue;
		}
		w->want = len >= w->want ? 0 : w->want - len;
	}
	return w->want ? ret : 0;
}

/* shared: a sealed memfd of len bytes, mapped whole */
static int take_shared(struct regbuf_pool *p, const struct level *lv,
		       uint64_t len, struct walk *w)
{
	int ret, fd = rb_memfd("regbuf",
			       MFD_CLOEXEC | MFD_ALLOW_SEALING | lv->mfd_flags);

	if (fd < 0)
		return fd;
	ret = rb_ftruncate(fd, (off_t)len);
	if (!ret)
		ret = rb_add_seals(fd, F_SEAL_SHRINK | F_SEAL_GROW);
	if (!ret)
		ret = reserve(p, len, lv->page_size);
	if (!ret) {
		ret = map_chunk(p, lv, 0, len, fd);
		if (ret) {
			rb_munmap(p->res_base, p->res_len);
			p->res_base = NULL;
		}
	}
	if (ret) {
		rb_close(fd);
		return ret;
	}
	w->fd = fd;
	return 0;
}

/* private: one more chunk after the last */
static int take_private(struct regbuf_pool *p, const struct level *lv,
			uint64_t len, struct walk *w)
{
	int ret = map_chunk(p, lv, w->off, len, -1);

	if (!ret)
		w->off += len;
	return ret;
}

/* growth: one chunk at the end, within the reservation and max_size */
static int take_grow(struct regbuf_pool *p, const struct level *lv,
		     uint64_t len, struct walk *w)
{
	int ret;

	if (p->size + len > w->room || p->size + len > p->max_size)
		return -ENOSPC;
	ret = map_chunk(p, lv, p->size, len, -1);
	if (!ret)
		__atomic_store_n(&p->size, p->size + len, __ATOMIC_RELEASE);
	return ret;
}

static unsigned level_index(int backing)
{
	unsigned i = 0;

	while (i + 1 < RB_ARRAY_SIZE(levels) && levels[i].backing != backing)
		i++;
	return i;
}

int rb_backing_obtain(struct regbuf_pool *p, const struct regbuf_pool_opts *o)
{
	bool automatic = o->backing == REGBUF_BACKING_AUTO;
	struct walk w = {.start = automatic ? 0 : level_index(o->backing),
			 .strict = o->flags & REGBUF_POOL_STRICT,
			 .asked = !automatic,
			 .want = o->size,
			 .what = ""};
	char a[32], b[32];
	int ret;

	if (o->flags & REGBUF_POOL_SHARED) {
		w.take = take_shared;
		ret = walk_levels(p, &w);
		if (ret)
			return rb_err(
				ret, "no shared backing could hold %s: %s",
				rb_fmt_size(o->size, a, sizeof(a)), p->notes);
		p->memfd = w.fd;
		p->size = p->chunks[0].len;
	} else {
		/* A GROWABLE pool reserves room to grow into up front. */
		ret = reserve(p,
			      rb_align_up(p->max_size > o->size ? p->max_size
								: o->size,
					  RB_GIB),
			      RB_GIB);
		if (ret)
			return ret;
		w.take = take_private;
		w.partial = true;
		w.check_thp = true;
		ret = walk_levels(p, &w);
		if (ret) {
			const char *name =
				regbuf_backing_name(levels[w.start].backing);

			if (w.strict && w.strict_why[0] &&
			    is_hugetlb(levels[w.start].backing))
				ret = rb_err(-ENOMEM,
					     "STRICT %s pool of %s needs %s",
					     name,
					     rb_fmt_size(o->size, a, sizeof(a)),
					     w.strict_why);
			else if (w.strict && w.strict_why[0])
				ret = rb_err(-ENOMEM, "STRICT %s: %s", name,
					     w.strict_why);
			else
				ret = rb_err(
					ret,
					"could not obtain %s for the pool: %s",
					rb_fmt_size(w.want, a, sizeof(a)),
					p->notes);
			rb_backing_release(p);
			return ret;
		}
		p->size = w.off;
	}
	if (p->size != o->size)
		rb_note(p->notes, sizeof(p->notes),
			"size rounded up from %s to %s",
			rb_fmt_size(o->size, a, sizeof(a)),
			rb_fmt_size(p->size, b, sizeof(b)));
	return 0;
}

int rb_backing_extend(struct regbuf_pool *p, uint64_t len)
{
	/* Start at the backing the pool began with. */
	struct walk w = {.start = level_index(p->chunks[0].backing),
			 .strict = p->flags & REGBUF_POOL_STRICT,
			 .want = len,
			 .take = take_grow,
			 .check_thp = true,
			 .room = p->res_base
					 ? (uint64_t)((uint8_t *)p->res_base +
						      p->res_len - p->base)
					 : 0,
			 .what = "grow: "};
	char a[32];
	int ret;

	if (p->nr_chunks == RB_MAX_CHUNKS)
		return rb_err(-ENOSPC, "the pool has its %d chunks already",
			      RB_MAX_CHUNKS);
	ret = walk_levels(p, &w);
	if (ret == -ENOSPC)
		return rb_err(-ENOSPC, "growing by %s would pass max_size",
			      rb_fmt_size(len, a, sizeof(a)));
	if (ret)
		return rb_err(ret, "cannot map %s more for the pool: %s",
			      rb_fmt_size(len, a, sizeof(a)), strerror(-ret));
	return 0;
}

void rb_backing_drop_last(struct regbuf_pool *p)
{
	struct rb_chunk *c = &p->chunks[p->nr_chunks - 1];
	void *r = NULL;

	/* Back to reserved address space. */
	rb_mmap(&r, p->base + c->offset, c->len, PROT_NONE,
		MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	__atomic_store_n(&p->size, p->size - c->len, __ATOMIC_RELEASE);
	p->nr_chunks--;
}

int rb_backing_map_fd(struct regbuf_pool *p, int fd, uint64_t size,
		      uint64_t page_size, int backing)
{
	const struct level *lv = level_of(backing);
	int ret;

	if (!lv)
		return -EINVAL;
	ret = reserve(p, size, page_size);
	if (ret)
		return ret;
	ret = map_chunk(p, lv, 0, size, fd);
	if (ret) {
		rb_munmap(p->res_base, p->res_len);
		p->res_base = NULL;
		return rb_err(ret, "cannot map the shared pool: %s",
			      strerror(-ret));
	}
	p->size = size;
	return 0;
}

/* ---- populate: MADV_POPULATE_WRITE over pieces taken by N threads ---- */

struct piece {
	uint8_t *addr;
	uint64_t len;
};

struct populate {
	struct piece *pieces;
	unsigned nr;
	unsigned next;
	int err;
};

static int touch(uint8_t *addr, uint64_t len)
{
	long ps = rb_page_size();

	for (uint64_t o = 0; o < len; o += (uint64_t)ps)
		((volatile uint8_t *)addr)[o] = 0;
	return 0;
}

static void *populate_worker(void *arg)
{
	struct populate *w = arg;
	unsigned i;

	while ((i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) <
	       w->nr) {
		struct piece *pc = &w->pieces[i];
		int ret = rb_madvise(pc->addr, pc->len, MADV_POPULATE_WRITE);

		if (ret == -EINVAL) /* before 5.14 */
			ret = touch(pc->addr, pc->len);
		if (ret) {
			int zero = 0;

			__atomic_compare_exchange_n(&w->err, &zero, ret, false,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

int rb_backing_populate(struct regbuf_pool *p, unsigned threads,
			unsigned first_chunk)
{
	const uint64_t step_min = 64 * RB_MIB;
	struct populate w = {0};
	uint64_t tids[64];
	unsigned started = 0, n = 0;
	uint64_t t0 = rb_now_ns();

	for (unsigned c = first_chunk; c < p->nr_chunks; c++) {
		uint64_t step = rb_align_up(step_min, p->chunks[c].page_size);

		n += (unsigned)((p->chunks[c].len + step - 1) / step);
	}
	w.pieces = rb_calloc(n ? n : 1, sizeof(*w.pieces));
	if (!w.pieces)
		return -ENOMEM; /* the heap said why */
	for (unsigned c = first_chunk; c < p->nr_chunks; c++) {
		struct rb_chunk *ch = &p->chunks[c];
		uint64_t step = rb_align_up(step_min, ch->page_size);

		for (uint64_t o = 0; o < ch->len; o += step) {
			w.pieces[w.nr].addr = p->base + ch->offset + o;
			w.pieces[w.nr].len =
				ch->len - o < step ? ch->len - o : step;
			w.nr++;
		}
	}
	if (threads > w.nr)
		threads = w.nr;
	if (threads > RB_ARRAY_SIZE(tids))
		threads = RB_ARRAY_SIZE(tids);
	/* The calling thread works too; failing to start helpers is fine. */
	for (unsigned i = 1; i < threads; i++) {
		if (rb_thread_create(&tids[started], populate_worker, &w))
			break;
		started++;
	}
	populate_worker(&w);
	for (unsigned i = 0; i < started; i++)
		rb_thread_join(tids[i]);
	free(w.pieces);
	p->populate_ns += rb_now_ns() - t0;
	if (w.err)
		return rb_err(
			w.err,
			"populating the pool failed (%s): hugepages may be short on NUMA node %d",
			strerror(-w.err), p->numa_node);
	for (unsigned c = first_chunk; c < p->nr_chunks; c++)
		p->chunks[c].populated = true;
	p->info_flags |= REGBUF_INFO_POPULATED;
	return 0;
}

void rb_backing_release(struct regbuf_pool *p)
{
	/* Chunks the pool mapped live inside its reservation: one munmap
	 * undoes them all. Caller-owned chunks have no reservation. */
	if (p->res_base)
		rb_munmap(p->res_base, p->res_len);
	p->res_base = NULL;
	p->nr_chunks = 0;
	if (p->memfd >= 0)
		rb_close(p->memfd);
	p->memfd = -1;
}
