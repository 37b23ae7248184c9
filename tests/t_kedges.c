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
 *  - unregistration: /proc/kpagecount of every page as before, hugetlb
 *    pages free again, VmPin back.
 */
#include <liburing.h>
#include <sys/mman.h>

#include "harness.h"
#include "ring.h"

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
	fork_cow();
	io_uring_queue_exit(&ring);
	close(data_fd);
	return 0;
}
