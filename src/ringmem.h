/* SPDX-License-Identifier: MIT */
/*
 * What io_uring rings' own memory charges to their user's RLIMIT_MEMLOCK
 * (on the kernels that charge it, REGBUF_FEAT_RING_MEMLOCK: the SQ/CQ ring,
 * the SQEs and every other region the kernel allocates for a ring, such as
 * a provided-buffer ring it maps; never shown in VmPin), as far as /proc
 * shows it. Header-only: the library's memlock budget and `regbuf ps`
 * (which may link the shared library, where the library's internals are
 * hidden) read it the same way.
 *
 * Per process: the rings among its fds (/proc/PID/fd, by inode), and the
 * io_uring regions it has mapped (/proc/PID/maps: the mapping's length is
 * the region's, whatever the ring's flags, CQE32, SQE128 or NO_SQARRAY);
 * a ring with an fd and no mapping is sized from its fdinfo as a plain
 * ring, a ring whose fdinfo the kernel left out (busy) at two pages. Each
 * ring is counted once, by inode, across every process scanned: a forked
 * child holds its parent's rings. Not seen: processes /proc hides
 * (hidepid, not dumpable), rings held only as registered ring fds and not
 * mapped, rings closed a moment ago whose release has not run yet.
 * Outside regbuf's fault seam: a read that fails means "not seen there".
 */
#ifndef REGBUF_RINGMEM_H
#define REGBUF_RINGMEM_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A plain ring's regions (no CQE32, SQE128, NO_SQARRAY): struct io_rings
 * (two cache-line-aligned head/tail pairs and the ring fields, 320 bytes)
 * with the CQEs, aligned to 64, and the SQ index array; then the SQEs.
 * Each region a whole number of pages, as the kernel charges it. */
static inline uint64_t rb_ring_own_charge(unsigned sq_entries,
					  unsigned cq_entries, uint64_t page)
{
	uint64_t rings = ((320 + (uint64_t)cq_entries * 16 + 63) & ~63ULL) +
			 (uint64_t)sq_entries * 4;
	uint64_t sqes = (uint64_t)sq_entries * 64;

	return ((rings + page - 1) / page + (sqes + page - 1) / page) * page;
}

/* Where the probe of REGBUF_FEAT_RING_MEMLOCK could not tell, by version
 * (major * 1000 + minor, 0 unknown): 6.13 charges it, 7.2 no longer does
 * (its rings' regions are created without a user to charge). */
static inline int rb_ring_own_charged(int kver)
{
	return !kver || (kver >= 6013 && kver < 7002);
}

/* Rings counted so far, by inode (open addressing; 0 is never an inode). */
struct rb_ringset {
	uint64_t *ino;
	size_t cap, nr;
	uint64_t bytes; /* their own memory */
	unsigned rings;
};

/* 1: ino was not in the set (now it is; also when the set cannot grow:
 * counted, perhaps twice), 0: already there. */
static inline int rb_ringset_add(struct rb_ringset *s, uint64_t ino)
{
	size_t i;

	if (!ino)
		return 1;
	if (2 * (s->nr + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		uint64_t *n = calloc(cap, sizeof(*n));

		if (!n)
			return 1;
		for (size_t k = 0; k < s->cap; k++)
			if (s->ino[k]) {
				for (i = s->ino[k] * 0x9e3779b97f4a7c15ULL &
					 (cap - 1);
				     n[i]; i = (i + 1) & (cap - 1))
					;
				n[i] = s->ino[k];
			}
		free(s->ino);
		s->ino = n;
		s->cap = cap;
	}
	for (i = ino * 0x9e3779b97f4a7c15ULL & (s->cap - 1); s->ino[i];
	     i = (i + 1) & (s->cap - 1))
		if (s->ino[i] == ino)
			return 0;
	s->ino[i] = ino;
	s->nr++;
	return 1;
}

static inline void rb_ringset_free(struct rb_ringset *s)
{
	free(s->ino);
	memset(s, 0, sizeof(*s));
}

/* One mapped io_uring region of a process: the ring's inode, the region
 * (its mmap offset; the SQ and CQ offsets name the same region) and the
 * longest mapping of it. */
struct rb_ringmap {
	uint64_t ino, off, len;
};

static inline int rb_ringmap_cmp(const void *a, const void *b)
{
	const struct rb_ringmap *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* The io_uring regions process pid has mapped, sorted; *nr of them. */
static inline struct rb_ringmap *rb_ring_maps(int pid, size_t *nr)
{
	char path[64], line[512];
	struct rb_ringmap *m = NULL;
	size_t n = 0, cap = 0;
	FILE *f;

	*nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off, ino;
		char perms[8], dev[16];

		if (!strstr(line, "anon_inode:[io_uring]") ||
		    sscanf(line, "%llx-%llx %7s %llx %15s %llu", &lo, &hi,
			   perms, &off, dev, &ino) != 6)
			continue;
		if (n == cap) {
			size_t c = cap ? 2 * cap : 16;
			struct rb_ringmap *g = realloc(m, c * sizeof(*g));

			if (!g)
				break;
			m = g;
			cap = c;
		}
		/* IORING_OFF_SQ_RING (0) and IORING_OFF_CQ_RING (0x8000000)
		 * map the one rings region */
		m[n++] = (struct rb_ringmap){ino, off == 0x8000000ULL ? 0 : off,
					     hi - lo};
	}
	fclose(f);
	if (n)
		qsort(m, n, sizeof(*m), rb_ringmap_cmp);
	*nr = n;
	return m;
}

/* The value of a "Field:\t0x..." line of an fdinfo file, -1 if absent. */
static inline long rb_fdinfo_hex(const char *text, const char *field)
{
	size_t n = strlen(field);

	for (const char *p = text; p && *p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (!strncmp(p, field, n) && p[n] == ':')
			return strtol(p + n + 1, NULL, 16);
	}
	return -1;
}

/* What the fdinfo of ring fd of pid says of its size (a plain ring), or
 * two pages when the kernel left it out. */
static inline uint64_t rb_ring_fdinfo_charge(int pid, const char *fd,
					     uint64_t page)
{
	char path[600], info[2048];
	long sq = -1, cq = -1;
	int f;
	ssize_t got;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f >= 0) {
		got = read(f, info, sizeof(info) - 1);
		close(f);
		if (got > 0) {
			info[got] = '\0';
			sq = rb_fdinfo_hex(info, "SqMask");
			cq = rb_fdinfo_hex(info, "CqMask");
		}
	}
	if (sq < 0 || cq < 0)
		return 2 * page;
	return rb_ring_own_charge((unsigned)sq + 1, (unsigned)cq + 1, page);
}

/* Ring ino's own memory as the sorted maps m show it: the longest mapping
 * of each of its regions; 0 when none is mapped. */
static inline uint64_t rb_ringmap_bytes(const struct rb_ringmap *m, size_t nm,
					uint64_t ino)
{
	size_t lo = 0, hi = nm;
	uint64_t sum = 0, longest = 0;

	while (lo < hi) { /* the first entry of ino */
		size_t mid = lo + (hi - lo) / 2;

		if (m[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k < nm && m[k].ino == ino; k++) {
		if (k > lo && m[k].off != m[k - 1].off) {
			sum += longest;
			longest = 0;
		}
		if (m[k].len > longest)
			longest = m[k].len;
	}
	return sum + longest;
}

/* Add the rings of process pid that s has not counted yet. */
static inline void rb_ringset_scan(struct rb_ringset *s, int pid)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	char dents[4096], path[64], link[64];
	struct rb_ringmap *m;
	size_t nm;
	long n;
	int dfd;

	m = rb_ring_maps(pid, &nm);
	/* rings with an fd: mapped (every region's length) or not (fdinfo) */
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (dfd >= 0 &&
	       (n = syscall(SYS_getdents64, dfd, dents, sizeof(dents))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (void *)(dents + off);
			struct stat st;
			ssize_t len;
			uint64_t bytes;

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			len = readlinkat(dfd, d->d_name, link,
					 sizeof(link) - 1);
			if (len <= 0)
				continue;
			link[len] = '\0';
			if (strcmp(link, "anon_inode:[io_uring]") ||
			    fstatat(dfd, d->d_name, &st, 0) ||
			    !rb_ringset_add(s, (uint64_t)st.st_ino))
				continue;
			bytes = rb_ringmap_bytes(m, nm, (uint64_t)st.st_ino);
			s->bytes += bytes ? bytes
					  : rb_ring_fdinfo_charge(
						    pid, d->d_name, page);
			s->rings++;
		}
	}
	if (dfd >= 0)
		close(dfd);
	/* rings mapped here without an fd (closed after mmap, or held as
	 * a registered ring fd only) */
	for (size_t k = 0; k < nm; k++) {
		if ((k && m[k - 1].ino == m[k].ino) ||
		    !rb_ringset_add(s, m[k].ino))
			continue;
		s->bytes += rb_ringmap_bytes(m, nm, m[k].ino);
		s->rings++;
	}
	free(m);
}

#endif
