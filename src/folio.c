/* SPDX-License-Identifier: MIT */
/*
 * Folio maps: which kind of memory backs each part of an address range.
 * Sources, best first: pagemap + kpageflags (CAP_SYS_ADMIN; exact folios,
 * mTHP included), PAGEMAP_SCAN (6.7+, unprivileged; huge or not), smaps
 * (per VMA, coarse). VMA facts (protection, file, hugetlb page size) always
 * come from smaps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "folio.h"
#include "sys.h"

struct vma {
	uint64_t start, end;
	uint64_t kpage; /* KernelPageSize */
	uint64_t anon_huge, rss;
	bool writable, shared, file, shmem, hugetlb;
};

struct vmas {
	struct vma *v;
	unsigned nr, cap;
};

static char *read_all(const char *path, int *err)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = rb_malloc(cap);
	int fd = rb_open(path, O_RDONLY);

	if (fd < 0 || !buf) {
		*err = fd < 0 ? fd : -ENOMEM;
		free(buf);
		if (fd >= 0)
			rb_close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = rb_realloc(buf, cap * 2);

			if (!nb) {
				*err = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		n = rb_pread(fd, buf + len, cap - 1 - len, (off_t)len);
		if (n < 0) {
			*err = (int)n;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	rb_close(fd);
	return buf;
fail:
	free(buf);
	rb_close(fd);
	return NULL;
}

static int push_vma(struct vmas *vs, const struct vma *v)
{
	if (vs->nr == vs->cap) {
		unsigned cap = vs->cap ? vs->cap * 2 : 32;
		struct vma *nv = rb_realloc(vs->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		vs->v = nv;
		vs->cap = cap;
	}
	vs->v[vs->nr++] = *v;
	return 0;
}

static bool is_shmem_path(const char *path)
{
	return !strncmp(path, "/memfd:", 7) || !strncmp(path, "/dev/shm/", 9) ||
	       !strncmp(path, "/SYSV", 5) || !strncmp(path, "/dev/zero", 9);
}

/* The VMAs of pid that overlap [lo, hi). */
static int read_vmas(int pid, uint64_t lo, uint64_t hi, struct vmas *vs)
{
	char path[64];
	char *buf, *line, *save = NULL;
	struct vma cur;
	bool have = false;
	int err = 0;
	unsigned long heap0 = rb_heap_failures();

	snprintf(path, sizeof(path),
		 pid ? "/proc/%d/smaps" : "/proc/self/smaps", pid);
	buf = read_all(path, &err);
	if (!buf) {
		if (err == -ENOENT)
			return rb_err(-ESRCH, "no process %d", pid);
		if (err == -EACCES || err == -EPERM)
			return rb_err(
				-EACCES,
				"cannot read %s: permission denied (needs the same user and ptrace access, or root)",
				path);
		return rb_err_above(heap0, err, "cannot read %s: %s", path,
				    strerror(-err));
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, e, ino;
		char perm[5], pathname[256] = "";
		unsigned dmaj, dmin;
		unsigned long long off;
		unsigned long long kb;

		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %255s", &s, &e,
			   perm, &off, &dmaj, &dmin, &ino, pathname) >= 7) {
			if (have && cur.end > lo && cur.start < hi &&
			    (err = push_vma(vs, &cur)))
				break;
			memset(&cur, 0, sizeof(cur));
			have = true;
			cur.start = s;
			cur.end = e;
			cur.writable = perm[1] == 'w';
			cur.shared = perm[3] == 's';
			cur.file = ino != 0;
			cur.shmem = is_shmem_path(pathname) ||
				    (cur.shared && !cur.file);
			cur.kpage = 4096;
		} else if (have &&
			   sscanf(line, "KernelPageSize: %llu kB", &kb) == 1) {
			cur.kpage = kb << 10;
			if (cur.kpage > 4096)
				cur.hugetlb = true;
		} else if (have &&
			   sscanf(line, "AnonHugePages: %llu kB", &kb) == 1) {
			cur.anon_huge = kb << 10;
		} else if (have && sscanf(line, "Rss: %llu kB", &kb) == 1) {
			cur.rss = kb << 10;
		} else if (have && !strncmp(line, "VmFlags:", 8) &&
			   strstr(line, " ht")) {
			cur.hugetlb = true;
		}
	}
	if (!err && have && cur.end > lo && cur.start < hi)
		err = push_vma(vs, &cur);
	free(buf);
	return err;
}

struct runs {
	struct regbuf_run *r;
	unsigned nr, cap;
	uint64_t pfn_end; /* PFN after the last run, when it is contiguous */
};

/* Append [start, start + len). pfn is its first page frame when known (the
 * kpageflags source): a run stays REGBUF_RUN_PHYS_CONTIG only while every
 * piece merged into it continues the previous one physically. */
static int add_run_pfn(struct runs *rs, uint64_t start, uint64_t len,
		       uint32_t kind, uint32_t flags, uint64_t folio,
		       uint64_t pfn)
{
	struct regbuf_run *last = rs->nr ? &rs->r[rs->nr - 1] : NULL;

	if (!len)
		return 0;
	if (!pfn)
		flags &= ~REGBUF_RUN_PHYS_CONTIG;
	if (last && last->start + last->len == start && last->kind == kind &&
	    (last->flags & ~REGBUF_RUN_PHYS_CONTIG) ==
		    (flags & ~REGBUF_RUN_PHYS_CONTIG) &&
	    last->folio_size == folio) {
		if (!(flags & REGBUF_RUN_PHYS_CONTIG) || pfn != rs->pfn_end)
			last->flags &= ~REGBUF_RUN_PHYS_CONTIG;
		last->len += len;
		rs->pfn_end = pfn + len / 4096;
		return 0;
	}
	rs->pfn_end = pfn + len / 4096;
	if (rs->nr == rs->cap) {
		unsigned cap = rs->cap ? rs->cap * 2 : 16;
		struct regbuf_run *nr = rb_realloc(rs->r, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		rs->r = nr;
		rs->cap = cap;
	}
	rs->r[rs->nr++] = (struct regbuf_run){start, len, kind, flags, folio};
	return 0;
}

static int add_run(struct runs *rs, uint64_t start, uint64_t len, uint32_t kind,
		   uint32_t flags, uint64_t folio)
{
	return add_run_pfn(rs, start, len, kind, flags, folio, 0);
}

static uint32_t vma_flags(const struct vma *v)
{
	uint32_t f = 0;

	if (!v->writable)
		f |= REGBUF_RUN_RO;
	if (v->file)
		f |= REGBUF_RUN_FILE;
	if (v->shmem)
		f |= REGBUF_RUN_SHMEM;
	if (v->shared && v->file && !v->shmem && !v->hugetlb)
		f |= REGBUF_RUN_SHARED_FILE;
	return f;
}

/* PAGEMAP_SCAN over [s, e) of one VMA. */
static int scan_vma(int fd, const struct vma *v, uint64_t s, uint64_t e,
		    struct runs *rs)
{
	struct page_region reg[256];
	uint32_t fl = vma_flags(v);
	uint64_t pos = s;

	while (pos < e) {
		struct pm_scan_arg a = {0};
		int n;

		a.size = sizeof(a);
		a.start = pos;
		a.end = e;
		a.vec = (uint64_t)(uintptr_t)reg;
		a.vec_len = RB_ARRAY_SIZE(reg);
		a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		a.return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE;
		n = rb_ioctl(fd, PAGEMAP_SCAN, &a);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			bool huge = reg[i].categories & PAGE_IS_HUGE;
			uint32_t kind = v->hugetlb ? REGBUF_RUN_HUGETLB
					: huge	   ? REGBUF_RUN_THP
						   : REGBUF_RUN_4K;
			uint64_t folio = v->hugetlb ? v->kpage
					 : huge	    ? 2 * RB_MIB
						    : 4096;
			int ret;

			if (!(reg[i].categories & PAGE_IS_PRESENT))
				kind = REGBUF_RUN_ABSENT, folio = 0;
			ret = add_run(rs, pos, reg[i].start - pos,
				      REGBUF_RUN_ABSENT, fl, 0);
			if (!ret)
				ret = add_run(rs, reg[i].start,
					      reg[i].end - reg[i].start, kind,
					      fl, folio);
			if (ret)
				return ret;
			pos = reg[i].end;
		}
		if (a.walk_end <= pos || n < (int)RB_ARRAY_SIZE(reg)) {
			/* Walk finished: what is left is not present. */
			int ret = add_run(rs, pos, e - pos, REGBUF_RUN_ABSENT,
					  fl, 0);

			if (ret)
				return ret;
			pos = e;
		}
	}
	return 0;
}

/* The folio a kpageflags walk is in: its head's virtual address, its
 * pages so far (consecutive frames, checked as it is walked), its kind. */
struct kpf_folio {
	uint64_t start, pages, last_pfn;
	uint32_t kind;
};

/* Emit the folio being walked (from s on) as one physically contiguous
 * run, and start afresh. */
static int kpf_flush(struct kpf_folio *f, const struct vma *v, uint64_t s,
		     uint32_t fl, struct runs *rs)
{
	uint64_t size = f->pages * 4096, lo = f->start < s ? s : f->start;
	uint64_t pfn0 = f->last_pfn - (f->pages - 1) + (lo - f->start) / 4096;

	if (!f->pages)
		return 0;
	f->pages = 0;
	return add_run_pfn(rs, lo, f->start + size - lo, f->kind,
			   fl | REGBUF_RUN_PHYS_CONTIG,
			   f->kind == REGBUF_RUN_HUGETLB ? v->kpage : size,
			   pfn0);
}

/* pagemap entries of n pages from pos, and the kpageflags of their
 * frames (0 where not present or unreadable): one kpageflags read per run
 * of consecutive frames. */
static int kpf_read(int pm, int kpf, uint64_t pos, uint64_t n, uint64_t *ent,
		    uint64_t *flags)
{
	ssize_t got = rb_pread(pm, ent, n * 8, (off_t)(pos / 4096 * 8));

	if (got < (ssize_t)(n * 8))
		return got < 0 ? (int)got : -EIO;
	for (uint64_t i = 0; i < n;) {
		uint64_t pfn = ent[i] & ((1ULL << 55) - 1), j = i + 1;

		if (!(ent[i] >> 63) || !pfn) {
			flags[i++] = 0;
			continue;
		}
		while (j < n && (ent[j] >> 63) &&
		       (ent[j] & ((1ULL << 55) - 1)) == pfn + (j - i))
			j++;
		if (rb_pread(kpf, &flags[i], (j - i) * 8, (off_t)(pfn * 8)) !=
		    (ssize_t)((j - i) * 8))
			memset(&flags[i], 0, (j - i) * 8);
		i = j;
	}
	return 0;
}

/* One page at pos of the walk: it extends the folio being walked, starts a
 * new one, or is a 4 KiB page or a hole of its own. */
static int kpf_page(struct kpf_folio *f, const struct vma *v, uint64_t s,
		    uint32_t fl, uint64_t pos, uint64_t ent, uint64_t kf,
		    struct runs *rs)
{
	bool present = ent >> 63;
	uint64_t pfn = ent & ((1ULL << 55) - 1);
	bool head = kf & (1ULL << KPF_COMPOUND_HEAD);
	bool tail = kf & (1ULL << KPF_COMPOUND_TAIL);
	int ret;

	if (present && !pfn)
		return -EPERM; /* PFNs hidden: no privilege */
	if (tail && f->pages && pfn == f->last_pfn + 1) {
		f->pages++;
		f->last_pfn = pfn;
		return 0;
	}
	ret = kpf_flush(f, v, s, fl, rs);
	if (ret || pos < s)
		return ret; /* before the range: not a head */
	if (!present)
		return add_run(rs, pos, 4096, REGBUF_RUN_ABSENT, fl, 0);
	if (head || tail) {
		*f = (struct kpf_folio){pos, 1, pfn,
					(kf & (1ULL << KPF_HUGE))
						? REGBUF_RUN_HUGETLB
						: REGBUF_RUN_THP};
		return 0;
	}
	return add_run_pfn(rs, pos, 4096, REGBUF_RUN_4K,
			   fl | REGBUF_RUN_PHYS_CONTIG, 4096, pfn);
}

/* Exact folios from pagemap + kpageflags (needs CAP_SYS_ADMIN). */
static int kpf_vma(int pm, int kpf, const struct vma *v, uint64_t s, uint64_t e,
		   struct runs *rs)
{
	enum { BATCH = 512 };
	uint64_t ent[BATCH], flags[BATCH];
	uint32_t fl = vma_flags(v);
	struct kpf_folio f = {0};
	uint64_t pos = s;
	int ret = 0;

	/* Start at the folio head if s is inside a THP (at most 2 MiB back). */
	if (!v->hugetlb) {
		uint64_t back = s & ~(2 * RB_MIB - 1);

		pos = back < v->start ? s : back;
	}
	while (!ret && pos < e) {
		uint64_t n =
			(e - pos) / 4096 < BATCH ? (e - pos) / 4096 : BATCH;

		ret = kpf_read(pm, kpf, pos, n, ent, flags);
		for (uint64_t i = 0; !ret && i < n; i++, pos += 4096)
			ret = kpf_page(&f, v, s, fl, pos, ent[i], flags[i], rs);
	}
	if (!ret)
		ret = kpf_flush(&f, v, s, fl, rs);
	/* Trim a folio that runs past e. */
	if (!ret && rs->nr) {
		struct regbuf_run *l = &rs->r[rs->nr - 1];

		if (l->start + l->len > e)
			l->len = e - l->start;
	}
	return ret;
}

static void smaps_vma(const struct vma *v, uint64_t s, uint64_t e,
		      struct runs *rs, int *ret)
{
	uint32_t fl = vma_flags(v);
	uint64_t size = v->end - v->start;

	if (v->hugetlb)
		*ret = add_run(rs, s, e - s, REGBUF_RUN_HUGETLB, fl, v->kpage);
	else if (v->rss == 0)
		*ret = add_run(rs, s, e - s, REGBUF_RUN_ABSENT, fl, 0);
	else if (v->anon_huge == size)
		*ret = add_run(rs, s, e - s, REGBUF_RUN_THP, fl, 2 * RB_MIB);
	else /* partly huge or not: where is unknown at this resolution */
		*ret = add_run(rs, s, e - s, REGBUF_RUN_4K, fl,
			       v->anon_huge ? 0 : 4096);
}

int rb_map_create(int pid, uint64_t addr, uint64_t len, bool exact,
		  struct regbuf_map **out)
{
	struct vmas vs = {0};
	struct runs rs = {0};
	struct regbuf_map *m = NULL;
	uint64_t end = addr + len, pos;
	char path[64];
	int pm = -1, kpf = -1, ret, source;

	if (!out || !len || pid < 0)
		return rb_err(-EINVAL,
			      "regbuf_map_create: need len > 0 and out");
	if (end < addr)
		return rb_err(-EOVERFLOW, "range 0x%llx + %llu overflows",
			      (unsigned long long)addr,
			      (unsigned long long)len);
	addr &= ~4095ULL;
	end = rb_align_up(end, 4096);
	ret = read_vmas(pid, addr, end, &vs);
	if (ret)
		goto out;
	/* Unmapped holes are an error: name the first one. */
	pos = addr;
	for (unsigned i = 0; i <= vs.nr; i++) {
		uint64_t next = i < vs.nr ? vs.v[i].start : end;

		if (next > pos) {
			ret = rb_err(-EFAULT, "address 0x%llx is not mapped",
				     (unsigned long long)pos);
			goto out;
		}
		if (i < vs.nr)
			pos = vs.v[i].end;
		if (pos >= end)
			break;
	}

	snprintf(path, sizeof(path),
		 pid ? "/proc/%d/pagemap" : "/proc/self/pagemap", pid);
	source = REGBUF_SRC_SMAPS;
	pm = rb_open(path, O_RDONLY);
	if (pm >= 0 && (exact || !rb_has(REGBUF_FEAT_PAGEMAP_SCAN))) {
		kpf = rb_open("/proc/kpageflags", O_RDONLY);
		if (kpf >= 0)
			source = REGBUF_SRC_KPAGEFLAGS;
	}
	if (source == REGBUF_SRC_SMAPS && pm >= 0 &&
	    rb_has(REGBUF_FEAT_PAGEMAP_SCAN))
		source = REGBUF_SRC_PAGEMAP_SCAN;

	for (unsigned i = 0; i < vs.nr; i++) {
		const struct vma *v = &vs.v[i];
		uint64_t s = v->start > addr ? v->start : addr;
		uint64_t e = v->end < end ? v->end : end;
		unsigned mark = rs.nr;

		ret = -EPERM;
		if (source == REGBUF_SRC_KPAGEFLAGS)
			ret = kpf_vma(pm, kpf, v, s, e, &rs);
		if (ret && source <= REGBUF_SRC_PAGEMAP_SCAN &&
		    rb_has(REGBUF_FEAT_PAGEMAP_SCAN)) {
			rs.nr = mark;
			if (source == REGBUF_SRC_KPAGEFLAGS)
				source = REGBUF_SRC_PAGEMAP_SCAN;
			ret = scan_vma(pm, v, s, e, &rs);
		}
		if (ret && ret != -ENOMEM) {
			rs.nr = mark;
			source = REGBUF_SRC_SMAPS;
			smaps_vma(v, s, e, &rs, &ret);
		}
		if (ret)
			goto out;
	}
	m = rb_calloc(1, sizeof(*m));
	if (!m) {
		ret = -ENOMEM;
		goto out;
	}
	m->source = source;
	m->pid = pid;
	m->addr = addr;
	m->len = end - addr;
	m->nr_runs = rs.nr;
	m->runs = rs.r;
	rs.r = NULL;
	*out = m;
	ret = 0;
out:
	if (pm >= 0)
		rb_close(pm);
	if (kpf >= 0)
		rb_close(kpf);
	free(vs.v);
	free(rs.r);
	return ret;
}

RB_EXPORT int regbuf_map_create(int pid, uint64_t addr, uint64_t len,
				struct regbuf_map **out)
{
	return rb_map_create(pid, addr, len, true, out);
}

RB_EXPORT void regbuf_map_destroy(struct regbuf_map *map)
{
	if (!map)
		return;
	free(map->runs);
	free(map);
}

int64_t rb_huge_bytes(void *addr, uint64_t len)
{
	struct vma v = {.start = (uint64_t)(uintptr_t)addr,
			.end = (uint64_t)(uintptr_t)addr + len,
			.writable = true};
	struct runs rs = {0};
	int64_t huge = 0;
	int fd, ret;

	if (!rb_has(REGBUF_FEAT_PAGEMAP_SCAN))
		return -EOPNOTSUPP;
	fd = rb_open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return fd;
	ret = scan_vma(fd, &v, v.start, v.end, &rs);
	rb_close(fd);
	for (unsigned i = 0; !ret && i < rs.nr; i++)
		if (rs.r[i].kind == REGBUF_RUN_THP)
			huge += (int64_t)rs.r[i].len;
	free(rs.r);
	return ret ? ret : huge;
}
