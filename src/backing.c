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

#include "internal.h"
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
	{REGBUF_BACKING_HUGE_1G, RB_GIB, MAP_HUGETLB | RB_MAP_HUGE_1GB,
	 RB_MFD_HUGETLB | RB_MFD_HUGE_1GB},
	{REGBUF_BACKING_HUGE_2M, 2 * RB_MIB, MAP_HUGETLB | RB_MAP_HUGE_2MB,
	 RB_MFD_HUGETLB | RB_MFD_HUGE_2MB},
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

static int obtain_shared(struct regbuf_pool *p,
			 const struct regbuf_pool_opts *o, unsigned start)
{
	bool strict = o->flags & REGBUF_POOL_STRICT;
	char sz[32];
	int ret = 0;

	for (unsigned i = start; i < RB_ARRAY_SIZE(levels); i++) {
		const struct level *lv = &levels[i];
		uint64_t len = rb_align_up(o->size, lv->page_size), free = 0;
		int fd;

		if (is_hugetlb(lv->backing)) {
			free = hugetlb_free(p, lv);
			if (free * lv->page_size < len) {
				rb_note(p->notes, sizeof(p->notes),
					"%s: %llu free pages, %llu needed",
					regbuf_backing_name(lv->backing),
					(unsigned long long)free,
					(unsigned long long)(len /
							     lv->page_size));
				ret = -ENOMEM;
				if (strict)
					break;
				continue;
			}
		}
		fd = rb_memfd("regbuf", RB_MFD_CLOEXEC | RB_MFD_ALLOW_SEALING |
						lv->mfd_flags);
		if (fd < 0) {
			rb_note(p->notes, sizeof(p->notes),
				"%s: memfd_create: %s",
				regbuf_backing_name(lv->backing),
				strerror(-fd));
			ret = fd;
			if (strict)
				break;
			continue;
		}
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
			rb_note(p->notes, sizeof(p->notes), "%s: %s",
				regbuf_backing_name(lv->backing),
				strerror(-ret));
			rb_close(fd);
			if (strict)
				break;
			continue;
		}
		p->memfd = fd;
		p->size = len;
		if (len != o->size)
			rb_note(p->notes, sizeof(p->notes),
				"size rounded up to %s",
				rb_fmt_size(len, sz, sizeof(sz)));
		return 0;
	}
	return rb_err(ret ? ret : -ENOMEM,
		      "no shared backing could hold %s: %s",
		      rb_fmt_size(o->size, sz, sizeof(sz)), p->notes);
}

int rb_backing_obtain(struct regbuf_pool *p, const struct regbuf_pool_opts *o)
{
	bool strict = o->flags & REGBUF_POOL_STRICT;
	bool automatic = o->backing == REGBUF_BACKING_AUTO;
	unsigned start = 0;
	uint64_t remaining = o->size, off = 0;
	char why[160], a[32], b[32];
	int ret;

	while (!automatic && levels[start].backing != o->backing)
		start++;
	if (o->flags & REGBUF_POOL_SHARED)
		return obtain_shared(p, o, start);

	/* A GROWABLE pool reserves room to grow into up front. */
	ret = reserve(p,
		      rb_align_up(p->max_size > o->size ? p->max_size : o->size,
				  RB_GIB),
		      RB_GIB);
	if (ret)
		return ret;
	for (unsigned i = start; i < RB_ARRAY_SIZE(levels) && remaining; i++) {
		const struct level *lv = &levels[i];
		bool asked = !automatic && i == start;
		uint64_t len;

		if (strict && i != start)
			break;
		if (p->nr_chunks == RB_MAX_CHUNKS)
			break;
		if (is_hugetlb(lv->backing)) {
			uint64_t free = 0, n;

			free = hugetlb_free(p, lv);
			/* 1G pages only where they are filled, unless asked
			 * for; 2M pages round the tail up. */
			if (asked || lv->backing == REGBUF_BACKING_HUGE_2M)
				n = (remaining + lv->page_size - 1) /
				    lv->page_size;
			else
				n = remaining / lv->page_size;
			if (n > free) {
				rb_note(p->notes, sizeof(p->notes),
					"%s: %llu pages wanted, %llu free",
					regbuf_backing_name(lv->backing),
					(unsigned long long)n,
					(unsigned long long)free);
				if (strict) {
					ret = rb_err(
						-ENOMEM,
						"STRICT %s pool of %s needs %llu hugepages, %llu free: reserve more in /sys/kernel/mm/hugepages/hugepages-%llukB/nr_hugepages",
						regbuf_backing_name(
							lv->backing),
						rb_fmt_size(o->size, a,
							    sizeof(a)),
						(unsigned long long)n,
						(unsigned long long)free,
						(unsigned long long)(lv->page_size >>
								     10));
					goto fail;
				}
				n = free;
			}
			if (!n)
				continue;
			len = n * lv->page_size;
		} else {
			if (lv->backing == REGBUF_BACKING_THP &&
			    !thp_usable(why, sizeof(why))) {
				rb_note(p->notes, sizeof(p->notes), "thp: %s",
					why);
				if (strict) {
					ret = rb_err(-ENOMEM, "STRICT thp: %s",
						     why);
					goto fail;
				}
				continue;
			}
			len = rb_align_up(remaining, lv->page_size);
		}
		ret = map_chunk(p, lv, off, len, -1);
		if (ret) {
			rb_note(p->notes, sizeof(p->notes), "%s: mmap: %s",
				regbuf_backing_name(lv->backing),
				strerror(-ret));
			if (strict || lv->backing == REGBUF_BACKING_PAGES) {
				ret = rb_err(ret,
					     "cannot map %s of %s memory: %s",
					     rb_fmt_size(len, a, sizeof(a)),
					     regbuf_backing_name(lv->backing),
					     strerror(-ret));
				goto fail;
			}
			continue;
		}
		off += len;
		remaining = len >= remaining ? 0 : remaining - len;
	}
	if (remaining) {
		ret = rb_err(-ENOMEM, "could not obtain %s for the pool",
			     rb_fmt_size(remaining, a, sizeof(a)));
		goto fail;
	}
	p->size = off;
	if (off != o->size)
		rb_note(p->notes, sizeof(p->notes),
			"size rounded up from %s to %s",
			rb_fmt_size(o->size, a, sizeof(a)),
			rb_fmt_size(off, b, sizeof(b)));
	return 0;
fail:
	rb_backing_release(p);
	return ret;
}

int rb_backing_extend(struct regbuf_pool *p, uint64_t len)
{
	uint64_t room = p->res_base ? (uint64_t)((uint8_t *)p->res_base +
						 p->res_len - p->base)
				    : 0;
	unsigned start = 0;
	char why[160], a[32];
	int ret = -ENOMEM;

	if (p->nr_chunks == RB_MAX_CHUNKS)
		return rb_err(-ENOSPC, "the pool has its %d chunks already",
			      RB_MAX_CHUNKS);
	/* Start at the backing the pool began with. */
	while (start + 1 < RB_ARRAY_SIZE(levels) &&
	       levels[start].backing != p->chunks[0].backing)
		start++;
	for (unsigned i = start; i < RB_ARRAY_SIZE(levels); i++) {
		const struct level *lv = &levels[i];
		uint64_t l = rb_align_up(len, lv->page_size);

		if ((p->flags & REGBUF_POOL_STRICT) && i != start)
			break;
		if (p->size + l > room || p->size + l > p->max_size) {
			if (lv->backing == REGBUF_BACKING_PAGES)
				return rb_err(
					-ENOSPC,
					"growing by %s would pass max_size",
					rb_fmt_size(l, a, sizeof(a)));
			continue;
		}
		if (is_hugetlb(lv->backing) &&
		    hugetlb_free(p, lv) * lv->page_size < l) {
			rb_note(p->notes, sizeof(p->notes),
				"grow: not enough free %s pages",
				regbuf_backing_name(lv->backing));
			continue;
		}
		if (lv->backing == REGBUF_BACKING_THP &&
		    !thp_usable(why, sizeof(why)))
			continue;
		ret = map_chunk(p, lv, p->size, l, -1);
		if (!ret) {
			__atomic_store_n(&p->size, p->size + l,
					 __ATOMIC_RELEASE);
			return 0;
		}
	}
	return rb_err(ret, "cannot map %s more for the pool: %s",
		      rb_fmt_size(len, a, sizeof(a)), strerror(-ret));
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
		int ret = rb_madvise(pc->addr, pc->len, RB_MADV_POPULATE_WRITE);

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
	w.pieces = calloc(n ? n : 1, sizeof(*w.pieces));
	if (!w.pieces)
		return rb_err(-ENOMEM, "out of memory");
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
