/* SPDX-License-Identifier: MIT */
/*
 * The edges of buffer registration, straight on the kernel (no regbuf
 * pool): what the patched 7.2 kernel (kernel/) must do exactly as every
 * stock kernel does. Each case registers raw iovecs, checks the result,
 * moves data through the registered buffer with fixed I/O where it was
 * taken, and checks that unregistering gives every reference back.
 *
 *  - start and end unaligned inside huge pages;
 *  - one buffer across 4 KiB pages, a THP region and hugetlb memory;
 *  - a read-only mapping, and MAP_SHARED of a file on ext4: refused;
 *  - fork and copy-on-write after registration;
 *  - a buffer whose second half is not mapped: refused, nothing held;
 *  - more than 512 GiB, the first page mapped and the rest not: refused;
 *  - THP, a small page refaulted into a hole of it, THP again (one folio
 *    on both sides of another): charged and uncharged alike, registered
 *    again and again by an accounted (unprivileged) process;
 *  - a buffer that starts in a THP and goes on into 4 KiB pages, or into a
 *    hole; mTHP (64 KiB folios) where the kernel has them; a THP half
 *    unmapped after registration; shmem (memfd) THP; a range-registered
 *    buffer cloned into another ring and replaced by an update; memory
 *    that is not an ordinary folio (io_uring's own mmapped SQ ring):
 *    what the kernel does is printed, and every reference comes back;
 *  - with a ZONE_MOVABLE (movablecore=): long-term pinned pages leave it.
 *  - unregistration: /proc/kpagecount of every page as before, hugetlb
 *    pages free again, VmPin back.
 */
#include <liburing.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <inttypes.h>
#include <time.h>

#include "harness.h"
#include "ring.h"
#include "uapi.h"

#define MIB (1ULL << 20)
#define M2  (2 * MIB)

static struct io_uring ring;
static int data_fd; /* a file of known bytes, read with O_DIRECT */
/* Huge pages per backing in across_backings and fork_cow: 2, or 1 where
 * RLIMIT_MEMLOCK is enforced (the distribution's 8 MiB then holds each
 * case; a huge page is charged whole). */
static unsigned k = 2;

static uint64_t pattern_at(uint64_t off)
{
	return off * 0x9e3779b97f4a7c15ULL;
}

static void make_data_file(void)
{
	static uint64_t blk[MIB / 8] __attribute__((aligned(4096)));

	data_fd = t_open_direct(8 * MIB);
	for (uint64_t o = 0; o < 8 * MIB; o += MIB) {
		for (uint64_t i = 0; i < MIB / 8; i++)
			blk[i] = pattern_at(o + i * 8);
		CHECK_EQ(pwrite(data_fd, blk, MIB, (off_t)o), (ssize_t)MIB);
	}
}

/* READ_FIXED of len bytes of the file (from foff) into buf, verified. */
static void read_into(void *buf, unsigned len, uint64_t foff, int index)
{
	const uint64_t *w = buf;

	memset(buf, 0, len);
	CHECK_EQ(t_read_fixed(&ring, data_fd, buf, len, foff, index), (int)len);
	for (unsigned i = 0; i < len / 8; i++)
		if (w[i] != pattern_at(foff + i * 8)) {
			fprintf(stderr, "byte %u of a fixed read is wrong\n",
				i * 8);
			exit(1);
		}
}

/* /proc/kpagecount of the pages of [p, p + len), summed (root only). */
static long kpagecount_sum(const void *p, size_t len)
{
	int pm = open("/proc/self/pagemap", O_RDONLY);
	int kc = open("/proc/kpagecount", O_RDONLY);
	long sum = 0;

	if (pm < 0 || kc < 0) {
		if (pm >= 0)
			close(pm);
		if (kc >= 0)
			close(kc);
		return -1;
	}
	for (size_t o = 0; o < len; o += 4096) {
		uint64_t ent, cnt = 0, pfn;

		if (pread(pm, &ent, 8,
			  (off_t)(((uintptr_t)p + o) / 4096 * 8)) != 8)
			break;
		pfn = ent & ((1ULL << 55) - 1);
		if ((ent >> 63) && pfn &&
		    pread(kc, &cnt, 8, (off_t)(pfn * 8)) == 8)
			sum += (long)cnt;
	}
	close(pm);
	close(kc);
	return sum;
}

static void *map_huge_2m(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Register iov as buffer 0, run f, unregister; check that every reference
 * came back: kpagecount as before, VmPin as before. */
static int reg(struct iovec *iov)
{
	return io_uring_register_buffers(&ring, iov, 1);
}

static void unregister_and_check(const void *p, size_t len, long kpc0,
				 long pin0)
{
	CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	if (kpc0 >= 0)
		CHECK_EQ(kpagecount_sum(p, len), kpc0);
	CHECK_EQ(t_vmpin_settled(pin0), pin0);
}

/* The folio sizes of [p, p + len) as regbuf's folio map sees them
 * ("64 KiB", "4 KiB + 2 MiB"), or "?" where it cannot tell. */
static const char *folio_sizes(const void *p, size_t len)
{
	static char out[128];
	struct regbuf_map *m;
	uint64_t seen[8];
	unsigned n = 0;
	size_t o = 0;

	snprintf(out, sizeof(out), "?");
	if (regbuf_map_create(0, (uint64_t)(uintptr_t)p, len, &m))
		return out;
	for (unsigned i = 0; i < m->nr_runs; i++) {
		unsigned j;

		for (j = 0; j < n && seen[j] != m->runs[i].folio_size; j++)
			;
		if (j == n && n < 8)
			seen[n++] = m->runs[i].folio_size;
	}
	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%llu KiB",
				      i ? " + " : "",
				      (unsigned long long)(seen[i] >> 10));
	snprintf(out + o, sizeof(out) - o, " (%s)",
		 regbuf_map_source_name(m->source));
	regbuf_map_destroy(m);
	return out;
}

/* Anonymous memory of len bytes, 2 MiB aligned, THP or not, touched. */
static char *map_anon(size_t len, bool thp, void **raw)
{
	char *r = mmap(NULL, len + M2, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	CHECK(r != MAP_FAILED);
	p = (char *)(((uintptr_t)r + M2 - 1) & ~(uintptr_t)(M2 - 1));
	madvise(p, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(p, 9, len);
	*raw = r;
	return p;
}

/* A buffer that starts in a THP and continues into 4 KiB pages; one that
 * continues into a hole: refused, nothing held. */
static void thp_then_small(void)
{
	void *raw;
	char *p = map_anon(2 * M2, true, &raw);
	struct iovec iov = {p + 4096, M2 + M2 / 2};
	long kpc0, pin0 = t_vmpin_kb();

	madvise(p + M2, M2, MADV_NOHUGEPAGE);
	/* the second 2 MiB as 4 KiB pages: zap and touch again */
	madvise(p + M2, M2, MADV_DONTNEED);
	memset(p + M2, 9, M2);
	kpc0 = kpagecount_sum(p, 2 * M2);
	CHECK_EQ(reg(&iov), 0);
	read_into(p + M2 - 8192, 16384, 0, 0);
	read_into(p + M2 + 65536, 65536, 4096, 0);
	unregister_and_check(p, 2 * M2, kpc0, pin0);
	/* now the 4 KiB part is a hole */
	CHECK_EQ(munmap(p + M2, M2), 0);
	kpc0 = kpagecount_sum(p, M2);
	CHECK_EQ(reg(&iov), -EFAULT);
	if (kpc0 >= 0)
		CHECK_EQ(kpagecount_sum(p, M2), kpc0);
	CHECK_EQ(t_vmpin_settled(pin0), pin0);
	munmap(raw, 3 * M2);
	printf("  a THP then 4 KiB pages: registered, reads verified, references back; a THP then a hole: -EFAULT, nothing held\n");
}

/* 64 KiB anonymous folios (mTHP), where this kernel has them. */
/* Set a THP control to want (root only), keeping its old value in old
 * (the bracketed word of the file); restored by thp_ctl_restore(). */
static void thp_ctl_set(const char *path, const char *want, char *old, size_t n)
{
	char buf[256] = "", *a, *b;
	FILE *f = fopen(path, "r");

	old[0] = '\0';
	if (f && fgets(buf, sizeof(buf), f) && (a = strchr(buf, '[')) &&
	    (b = strchr(a, ']'))) {
		*b = '\0';
		snprintf(old, n, "%s", a + 1);
	}
	if (f)
		fclose(f);
	if (geteuid() == 0 && old[0] && (f = fopen(path, "w"))) {
		fputs(want, f);
		fclose(f);
	}
}

static void thp_ctl_restore(const char *path, const char *old)
{
	FILE *f;

	if (geteuid() == 0 && old[0] && (f = fopen(path, "w"))) {
		fputs(old, f);
		fclose(f);
	}
}

static void mthp(void)
{
	const char *ctl =
		"/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled";
	size_t len = M2 / 2; /* below a PMD: only mTHP can be large here */
	const char *sizes;
	char old[32], *r, *p;
	struct iovec iov;
	long kpc0, pin0;

	if (access(ctl, R_OK)) {
		printf("  mTHP: no 64 KiB THP in this kernel, not run\n");
		return;
	}
	thp_ctl_set(ctl, "madvise", old, sizeof(old));
	r = mmap(NULL, len + M2, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r != MAP_FAILED);
	p = (char *)(((uintptr_t)r + M2 - 1) & ~(uintptr_t)(M2 - 1));
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 3, len);
	kpc0 = kpagecount_sum(p, len);
	pin0 = t_vmpin_kb();
	sizes = folio_sizes(p, len);
	iov = (struct iovec){p + 4096, len - 8192};
	CHECK_EQ(reg(&iov), 0);
	read_into(p + 65536 - 4096, 8192, 0, 0);
	read_into(p + 3 * 65536, 65536, 8192, 0);
	unregister_and_check(p, len, kpc0, pin0);
	munmap(r, len + M2);
	thp_ctl_restore(ctl, old);
	printf("  mTHP (64 KiB THP %s; folios %s): registered unaligned, reads across folios verified, references back\n",
	       geteuid() == 0 ? "enabled for madvise" : "as configured", sizes);
}

/* A THP buffer half unmapped after registration: the pinned pages stay
 * the buffer's, fixed reads into them work, unregistering gives back
 * every reference. */
static void thp_unmapped_after(void)
{
	void *raw;
	char *p = map_anon(2 * M2, true, &raw);
	struct iovec iov = {p, 2 * M2};
	long kpc0 = kpagecount_sum(p, M2), pin0 = t_vmpin_kb();
	uint64_t w[512];

	CHECK_EQ(reg(&iov), 0);
	CHECK_EQ(munmap(p + M2, M2), 0);
	/* into the unmapped half: lands in pages only the ring still holds */
	CHECK_EQ(t_read_fixed(&ring, data_fd, p + M2, 4096, 0, 0), 4096);
	read_into(p + M2 - 4096, 4096, 8192, 0);
	memcpy(w, p + M2 - 4096, sizeof(w));
	CHECK_EQ(w[0], pattern_at(8192));
	unregister_and_check(p, M2, kpc0, pin0);
	munmap(raw, 3 * M2);
	printf("  a THP buffer half unmapped after registration: fixed reads into both halves, references back after unregister\n");
}

/* shmem THP through a memfd, MAP_SHARED. */
static void shmem_thp(void)
{
	const char *ctl = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";
	char old[32];
	int fd = memfd_create("kedges", 0);
	struct iovec iov;
	long kpc0, pin0 = t_vmpin_kb();
	char *r, *p;
	const char *sizes;
	size_t len = 2 * M2;

	CHECK(fd >= 0);
	thp_ctl_set(ctl, "advise", old, sizeof(old));
	CHECK_EQ(ftruncate(fd, (off_t)len), 0);
	r = mmap(NULL, len + M2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r != MAP_FAILED);
	p = (char *)(((uintptr_t)r + M2 - 1) & ~(uintptr_t)(M2 - 1));
	CHECK(mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		   0) == p);
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 4, len);
	kpc0 = kpagecount_sum(p, len);
	sizes = folio_sizes(p, len);
	iov = (struct iovec){p + 512, len - 1024};
	CHECK_EQ(reg(&iov), 0);
	read_into(p + M2 - 8192, 16384, 0, 0);
	unregister_and_check(p, len, kpc0, pin0);
	munmap(r, len + M2);
	close(fd);
	thp_ctl_restore(ctl, old);
	printf("  shmem (memfd, folios %s): registered, read across the folio boundary verified, references back\n",
	       sizes);
}

/* Clone of a buffer into another ring, then an update replacing it. */
static void clone_and_update(void)
{
	struct io_uring_clone_buffers cb = {0};
	struct io_uring r2;
	void *raw1, *raw2;
	char *a = map_anon(M2, true, &raw1), *b = map_anon(M2, false, &raw2);
	struct iovec iov = {a, M2}, iov2 = {b, M2};
	long kpa = kpagecount_sum(a, M2), kpb = kpagecount_sum(b, M2);
	long pin0 = t_vmpin_kb();
	__u64 tag = 0;
	int ret;

	CHECK_EQ(io_uring_queue_init(4, &r2, 0), 0);
	CHECK_EQ(reg(&iov), 0);
	cb.src_fd = (uint32_t)ring.ring_fd;
	ret = (int)syscall(__NR_io_uring_register, r2.ring_fd,
			   IORING_REGISTER_CLONE_BUFFERS, &cb, 1);
	if (ret == -1 && errno == EINVAL) {
		printf("  clone of a registered buffer: no clone here, not run\n");
		io_uring_queue_exit(&r2);
		unregister_and_check(a, M2, kpa, pin0);
		munmap(raw1, 2 * M2);
		munmap(raw2, 2 * M2);
		return;
	}
	CHECK_EQ(ret, 0);
	CHECK_EQ(t_read_fixed(&r2, data_fd, a + 4096, 8192, 4096, 0), 8192);
	CHECK_EQ(*(uint64_t *)(a + 4096), pattern_at(4096));
	/* the source replaces its buffer 0; the clone keeps the old one */
	CHECK_EQ(io_uring_register_buffers_update_tag(&ring, 0, &iov2, &tag, 1),
		 1);
	read_into(b + 8192, 4096, 0, 0);
	CHECK_EQ(t_read_fixed(&r2, data_fd, a, 4096, 0, 0), 4096);
	CHECK_EQ(io_uring_unregister_buffers(&r2), 0);
	io_uring_queue_exit(&r2);
	CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	if (kpa >= 0) {
		CHECK_EQ(kpagecount_sum(a, M2), kpa);
		CHECK_EQ(kpagecount_sum(b, M2), kpb);
	}
	CHECK_EQ(t_vmpin_settled(pin0), pin0);
	munmap(raw1, 2 * M2);
	munmap(raw2, 2 * M2);
	printf("  a THP buffer cloned into another ring, then replaced there by an update: reads through both verified, references back\n");
}

/* io_uring's own SQ ring, mapped by the kernel: not an ordinary user
 * folio. Whatever the kernel answers, nothing is held afterwards. */
static void not_a_folio(void)
{
	struct io_uring r2;
	struct iovec iov;
	long pin0 = t_vmpin_kb();
	int ret;

	CHECK_EQ(io_uring_queue_init(8, &r2, 0), 0);
	iov = (struct iovec){r2.sq.ring_ptr, 4096};
	ret = reg(&iov);
	if (!ret)
		CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	io_uring_queue_exit(&r2);
	CHECK_EQ(t_vmpin_settled(pin0), pin0);
	printf("  io_uring's own mmapped SQ ring as a buffer: %s, nothing held after\n",
	       ret ? strerror(-ret) : "registered");
}

/* The PFN range of the first populated ZONE_MOVABLE (/proc/zoneinfo), and
 * its free pages. */
static bool movable_zone(uint64_t *start, uint64_t *end, uint64_t *nr_free)
{
	char line[256];
	FILE *f = fopen("/proc/zoneinfo", "r");
	bool in = false;
	uint64_t spanned = 0, present = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, ", zone")) {
			if (in && present)
				break;
			in = strstr(line, "Movable") != NULL;
			spanned = present = 0;
			continue;
		}
		if (!in)
			continue;
		sscanf(line, " pages free %" SCNu64, nr_free);
		sscanf(line, " spanned %" SCNu64, &spanned);
		sscanf(line, " present %" SCNu64, &present);
		if (sscanf(line, " start_pfn: %" SCNu64, start) == 1 && present)
			break;
	}
	fclose(f);
	*end = *start + spanned;
	return in && present;
}

/* MemAvailable in bytes (/proc/meminfo), 0 if unknown. */
static uint64_t mem_available(void)
{
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");
	uint64_t kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %" SCNu64, &kb) == 1)
			break;
	fclose(f);
	return kb << 10;
}

/* Pages of [p, p + len) whose PFN lies in [lo, hi); -1 without pagemap
 * PFNs (root only). */
static long pages_in(const void *p, size_t len, uint64_t lo, uint64_t hi)
{
	int pm = open("/proc/self/pagemap", O_RDONLY);
	long n = 0;

	if (pm < 0)
		return -1;
	for (size_t o = 0; o < len; o += 4096) {
		uint64_t ent, pfn;

		if (pread(pm, &ent, 8,
			  (off_t)(((uintptr_t)p + o) / 4096 * 8)) != 8)
			break;
		pfn = ent & ((1ULL << 55) - 1);
		if (!(ent >> 63) || !pfn) {
			close(pm);
			return -1;
		}
		n += pfn >= lo && pfn < hi;
	}
	close(pm);
	return n;
}

/*
 * FOLL_LONGTERM migrates what it pins out of ZONE_MOVABLE (and CMA): after
 * registering memory that lies there, none of the buffer's pages does, and
 * the data moved with them. Needs a movable zone (movablecore= at boot)
 * and PFNs (root).
 */
static void movable_migrated(void)
{
	uint64_t lo, hi, nr_free = 0;

	if (!movable_zone(&lo, &hi, &nr_free)) {
		printf("  ZONE_MOVABLE: none on this boot (movablecore=), not run\n");
		return;
	}
	if (nr_free < 32 * M2 / 4096) {
		/* boot-time hugepages are taken top-down, from it first */
		printf("  ZONE_MOVABLE: %" PRIu64
		       " KiB free (boot-time hugepages fill it), not run\n",
		       nr_free * 4);
		return;
	}
	for (int thp = 0; thp < 2; thp++) {
		size_t len = 32 * M2;
		/* what may be mapped before one buffer lands there, with
		 * 256 MiB left to the rest of the machine */
		uint64_t avail = mem_available();
		unsigned most =
			avail > (256ULL << 20) + len
				? (unsigned)((avail - (256ULL << 20)) / len)
				: 0;
		void *raw, *tried[48];
		char *p = map_anon(len, thp, &raw);
		struct iovec iov;
		long before = pages_in(p, len, lo, hi), after;
		unsigned n = 0;
		uint64_t t0;

		if (before < 0) {
			printf("  ZONE_MOVABLE: no PFNs without root, not run\n");
			munmap(raw, len + M2);
			return;
		}
		/* the page allocator need not take ZONE_MOVABLE first: keep
		 * mapping (up to 1.5 GiB) until most of a buffer lies there */
		if (most > 48)
			most = 48;
		while (before < (long)(len / 4096 / 2) && n + 1 < most) {
			tried[n++] = raw;
			p = map_anon(len, thp, &raw);
			before = pages_in(p, len, lo, hi);
		}
		while (n)
			munmap(tried[--n], len + M2);
		if (before < (long)(len / 4096 / 2)) {
			printf("  ZONE_MOVABLE, %s: %u buffers of 64 MiB mapped, none mostly there, not run\n",
			       thp ? "THP" : "4 KiB pages", n + 1);
			munmap(raw, len + M2);
			continue;
		}
		iov = (struct iovec){p, len};
		t0 = (uint64_t)clock();
		CHECK_EQ(reg(&iov), 0);
		t0 = (uint64_t)clock() - t0;
		after = pages_in(p, len, lo, hi);
		for (size_t o = 0; o < len; o += 4096)
			CHECK_EQ(p[o], 9);
		read_into(p + M2 - 4096, 8192, 0, 0);
		CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
		munmap(raw, len + M2);
		printf("  ZONE_MOVABLE, %s: %ld of %zu pages there before registering, %ld after (%.1f ms CPU to pin and migrate), data intact\n",
		       thp ? "THP" : "4 KiB pages", before, len / 4096, after,
		       (double)t0 * 1e3 / CLOCKS_PER_SEC);
		CHECK_EQ(after, 0);
	}
}

static void unaligned_in_huge(void)
{
	char *h = map_huge_2m(2 * M2);
	struct iovec iov;
	long kpc0, pin0 = t_vmpin_kb();

	if (!h) {
		printf("  unaligned in huge pages: no 2 MiB hugepages, not run\n");
		return;
	}
	memset(h, 1, 2 * M2);
	kpc0 = kpagecount_sum(h, 2 * M2);
	/* starts 4 KiB + 512 B into the first huge page, ends 8 KiB + 64 B
	 * before the end of the second */
	iov.iov_base = h + 4096 + 512;
	iov.iov_len = 2 * M2 - 4096 - 512 - 8192 - 64;
	CHECK_EQ(reg(&iov), 0);
	/* O_DIRECT wants 512-byte alignment: reads at the unaligned edges
	 * and across the boundary between the two huge pages */
	read_into(h + 4096 + 512, 64 * 1024, 0, 0);
	read_into(h + M2 - 8192, 16384, 4096, 0);
	read_into(h + 2 * M2 - 8192 - 64 - 4096 - 448, 4096, 8192, 0);
	unregister_and_check(h, 2 * M2, kpc0, pin0);
	munmap(h, 2 * M2);
	printf("  start and end unaligned inside 2 MiB pages: registered, fixed reads verified at both edges and across, every reference back\n");
}

/* [4 KiB pages | THP | hugetlb] back to back, one buffer over all: one
 * M2 of 4 KiB pages, then k of THP and k of hugetlb. */
static void across_backings(void)
{
	size_t len = (1 + 2 * k) * M2;
	char *base = mmap(NULL, 8 * M2, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a = (char *)(((uintptr_t)base + M2 - 1) & ~(uintptr_t)(M2 - 1));
	struct regbuf_features f = REGBUF_STRUCT_INIT(f);
	struct iovec iov;
	long kpc0, pin0 = t_vmpin_kb();
	void *h;
	int ret;

	regbuf_features_get(&f);
	CHECK(base != MAP_FAILED);
	CHECK(mmap(a, M2, PROT_READ | PROT_WRITE,
		   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0) != MAP_FAILED);
	madvise(a, M2, MADV_NOHUGEPAGE);
	CHECK(mmap(a + M2, k * M2, PROT_READ | PROT_WRITE,
		   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0) != MAP_FAILED);
	madvise(a + M2, k * M2, MADV_HUGEPAGE);
	h = mmap(a + (1 + k) * M2, k * M2, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (h == MAP_FAILED) {
		munmap(base, 8 * M2);
		printf("  across 4K, THP and hugetlb: no 2 MiB hugepages, not run\n");
		return;
	}
	memset(a, 2, len);
	kpc0 = kpagecount_sum(a, len);
	iov.iov_base = a + 4096;
	iov.iov_len = len - 8192;
	ret = reg(&iov);
	if (ret == -EINVAL && !(f.features & REGBUF_FEAT_COALESCE)) {
		/* 6.1 (before the 6.12 folio rework) refuses a buffer over
		 * hugetlb and other memory: refused cleanly, nothing held */
		if (kpc0 >= 0)
			CHECK_EQ(kpagecount_sum(a, len), kpc0);
		CHECK_EQ(t_vmpin_settled(pin0), pin0);
		munmap(base, 8 * M2);
		printf("  one buffer over 4 KiB pages, THP and hugetlb: this kernel refuses it (-EINVAL), nothing held\n");
		return;
	}
	CHECK_EQ(ret, 0);
	/* reads over each boundary */
	read_into(a + M2 - 8192, 16384, 0, 0);
	read_into(a + (1 + k) * M2 - 8192, 16384, 16384, 0);
	read_into(a + 2 * k * M2 + 4096, 65536, 32768, 0);
	unregister_and_check(a, len, kpc0, pin0);
	munmap(base, 8 * M2);
	printf("  one buffer over 4 KiB pages, THP and hugetlb: registered, fixed reads verified over both boundaries, every reference back\n");
}

static void refused(void)
{
	char *ro = mmap(NULL, 4 * 4096, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iovec iov = {ro, 4 * 4096};
	long pin0 = t_vmpin_kb();
	char path[4200];
	int fd, ret;
	void *sh;

	CHECK(ro != MAP_FAILED);
	ret = reg(&iov);
	CHECK(ret < 0);
	printf("  read-only mapping: refused with %d (%s)\n", ret,
	       strerror(-ret));
	munmap(ro, 4 * 4096);
	/* MAP_SHARED of a file on a writeback file system (ext4 here) */
	snprintf(path, sizeof(path), "%s/regbuf-kedges-XXXXXX",
		 t_scratch_dir());
	fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	CHECK_EQ(ftruncate(fd, 4 * 4096), 0);
	sh = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(sh != MAP_FAILED);
	memset(sh, 3, 4 * 4096);
	iov = (struct iovec){sh, 4 * 4096};
	ret = reg(&iov);
	CHECK(ret < 0);
	printf("  MAP_SHARED of a file on the scratch file system: refused with %d (%s)\n",
	       ret, strerror(-ret));
	munmap(sh, 4 * 4096);
	close(fd);
	CHECK_EQ(t_vmpin_settled(pin0), pin0);
}

/* A buffer whose second half is not mapped: refused, nothing held. */
static void half_way(void)
{
	char *h = map_huge_2m(2 * M2);
	struct iovec iov;
	long kpc0, pin0 = t_vmpin_kb();
	uint64_t free0 = t_free_huge("2048");

	if (!h) {
		printf("  failure half-way: no 2 MiB hugepages, not run\n");
		return;
	}
	memset(h, 4, M2);
	munmap(h + M2, M2); /* the second huge page goes away */
	kpc0 = kpagecount_sum(h, M2);
	iov = (struct iovec){h, 2 * M2};
	CHECK_EQ(reg(&iov), -EFAULT);
	if (kpc0 >= 0)
		CHECK_EQ(kpagecount_sum(h, M2), kpc0);
	CHECK_EQ(t_vmpin_settled(pin0), pin0);
	munmap(h, M2);
	/* a pin left behind would keep the huge page from the free pool */
	for (int i = 0; i < 200 && t_free_huge("2048") != free0; i++)
		usleep(10000);
	CHECK_EQ(t_free_huge("2048"), free0);
	printf("  second half unmapped: -EFAULT, the first huge page's references back and the page free again\n");
}

/*
 * A buffer of more than 512 GiB (2^27 pages) whose first page is mapped and
 * the rest PROT_NONE: refused, nothing held. Stock pins into a page array
 * (8 bytes a page, within kvmalloc()'s INT_MAX up to 1 TiB) and fails at the
 * second page; a range array takes 16 bytes a page at worst, so a kernel
 * that registers by folio range must refuse the length before it sizes
 * one, not WARN in kvmalloc() (the guest runs fail on any WARNING).
 */
static void beyond_512g(void)
{
	size_t len = (512ULL << 30) + 2 * 4096;
	long pin0 = t_vmpin_kb();
	struct iovec iov;
	char *p;
	int ret;

	p = mmap(NULL, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		printf("  512 GiB buffer: no room for the mapping (%s), not run\n",
		       strerror(errno));
		return;
	}
	CHECK_EQ(mprotect(p, 4096, PROT_READ | PROT_WRITE), 0);
	p[0] = 1;
	iov = (struct iovec){p, len};
	ret = reg(&iov);
	CHECK(ret < 0);
	CHECK_EQ(t_vmpin_settled(pin0), pin0);
	munmap(p, len);
	printf("  512 GiB + 8 KiB, first page mapped, the rest PROT_NONE: refused with %d (%s), nothing held\n",
	       ret, strerror(-ret));
}

/* fork after registration: the child's copy-on-write never touches the
 * registered pages, a fixed read still lands in the parent's memory. */
static void fork_cow(void)
{
	size_t len = 2 * k * M2;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec iov = {p, len};
	long kpc0, pin0 = t_vmpin_kb();
	int st;
	pid_t pid;

	CHECK(p != MAP_FAILED);
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 5, len);
	kpc0 = kpagecount_sum(p, len);
	CHECK_EQ(reg(&iov), 0);
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		memset(p, 6, len); /* the child's own copy */
		_exit(p[len - 1] == 6 ? 0 : 1);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(p[0], 5);
	read_into(p + M2, 256 * 1024, 4096, 0);
	CHECK_EQ(p[0], 5);
	unregister_and_check(p, len, kpc0, pin0);
	munmap(p, len);
	printf("  fork after registration: the child wrote its copy, the parent's fixed read landed in the parent's memory\n");
}

/*
 * A THP with one 4 KiB page zapped (MADV_DONTNEED) and faulted back in: the
 * PMD is split, the folio stays large until its deferred split, and the
 * refault gets a small page. A buffer over it sees pages of folio F, then
 * the small page S, then F again. Registering and unregistering it must
 * charge and uncharge the same: run by an accounted process (root gets a
 * child of its own as uid 65534, since 7.2 accounts nothing to a
 * CAP_IPC_LOCK ring), it registers the buffer 8 times in a row; each time
 * VmPin returns to where it was, and a leak of the huge page's charge
 * would also exhaust RLIMIT_MEMLOCK (8 MiB) by the fourth round.
 */
static int thp_refault_rounds(char *p, size_t len)
{
	struct io_uring r;
	struct iovec iov = {p, len};
	long pin0;

	if (io_uring_queue_init(4, &r, 0))
		return 10;
	pin0 = t_vmpin_kb();
	for (int i = 0; i < 8; i++) {
		int ret = io_uring_register_buffers(&r, &iov, 1);

		if (ret) {
			fprintf(stderr,
				"round %d: register: %s (VmPin %ld kB, %ld before)\n",
				i, strerror(-ret), t_vmpin_kb(), pin0);
			return 11;
		}
		if (t_vmpin_kb() == pin0) {
			fprintf(stderr,
				"round %d: registration charged nothing\n", i);
			return 12;
		}
		if (!i)
			printf("  THP, refaulted hole, THP: registration charges %ld kB\n",
			       t_vmpin_kb() - pin0);
		CHECK_EQ(io_uring_unregister_buffers(&r), 0);
		if (t_vmpin_settled(pin0) != pin0) {
			fprintf(stderr,
				"round %d: VmPin %ld kB after unregister, %ld before\n",
				i, t_vmpin_kb(), pin0);
			return 13;
		}
	}
	io_uring_queue_exit(&r);
	return 0;
}

/* In a child (its memory its own: no copy-on-write of a forked parent's
 * pages), as uid 65534 when root; exit status 0 pass, 21 not accounted. */
static int thp_hole_child(void)
{
	size_t len = M2;
	char *raw = mmap(NULL, 2 * M2, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = (char *)(((uintptr_t)raw + M2 - 1) & ~(uintptr_t)(M2 - 1));
	struct rlimit rl = {8 << 20, 8 << 20};
	struct regbuf_map *m = NULL;
	bool seen = false;
	int ret;

	CHECK(raw != MAP_FAILED);
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 7, len);
	/* zap one page in the middle, fault it back in */
	CHECK_EQ(madvise(p + M2 / 2, 4096, MADV_DONTNEED), 0);
	p[M2 / 2] = 8;
	/* the layout is only visible with kpageflags (root): PAGEMAP_SCAN
	 * sees a PTE-mapped THP as 4 KiB pages */
	if (!regbuf_map_create(0, (uint64_t)(uintptr_t)p, len, &m)) {
		seen = m->source == REGBUF_SRC_KPAGEFLAGS && m->nr_runs == 3 &&
		       m->runs[0].kind == REGBUF_RUN_THP &&
		       m->runs[1].kind == REGBUF_RUN_4K &&
		       m->runs[2].kind == REGBUF_RUN_THP;
		regbuf_map_destroy(m);
	}
	if (geteuid() == 0 &&
	    (setrlimit(RLIMIT_MEMLOCK, &rl) || setgid(65534) || setuid(65534)))
		return 20;
	if (!t_memlock_enforced()) {
		printf("  THP, refaulted hole, THP: memlock not enforced for this process, not run\n");
		return 0;
	}
	ret = thp_refault_rounds(p, len);
	if (!ret)
		printf("  THP, refaulted hole, THP (%s): registered and unregistered 8 times by an accounted process, VmPin back every time, memlock never exhausted\n",
		       seen ? "one folio on both sides of a small page, seen in kpageflags"
			    : "the layout not visible without kpageflags");
	return ret;
}

static void thp_hole_refault(void)
{
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		st = thp_hole_child();
		fflush(stdout);
		_exit(st);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

int main(void)
{
	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	CHECK_EQ(io_uring_queue_init(8, &ring, 0), 0);
	if (t_memlock_enforced())
		k = 1;
	make_data_file();
	if (kpagecount_sum(&ring, 1) < 0)
		printf("  /proc/kpagecount not readable: references checked by VmPin and free hugepages only\n");
	unaligned_in_huge();
	across_backings();
	refused();
	half_way();
	beyond_512g();
	fork_cow();
	thp_hole_refault();
	thp_then_small();
	mthp();
	thp_unmapped_after();
	shmem_thp();
	clone_and_update();
	not_a_folio();
	movable_migrated();
	io_uring_queue_exit(&ring);
	close(data_fd);
	return 0;
}
