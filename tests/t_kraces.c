/* SPDX-License-Identifier: MIT */
/*
 * Buffer registration racing what can happen to the memory under it, on
 * the real kernel (no regbuf pool), for REGBUF_RACE_SECONDS (default 3):
 *
 *  - two threads, each with its own ring, register and unregister random
 *    pieces of a region (THP, 4 KiB pages and, where there are any, 2 MiB
 *    hugetlb pages), doing a fixed read into each piece they got;
 *  - a third thread meanwhile zaps pages (MADV_DONTNEED, which also splits
 *    THPs), unmaps pieces and maps them again, moves pieces away and back
 *    (mremap), forks, collapses THPs (MADV_COLLAPSE), migrates pages
 *    (move_pages) and, as root, compacts memory.
 *
 * Whatever each call returns (a piece may vanish under a registration:
 * -EFAULT), nothing may be held at the end: VmPin back where it started,
 * every hugetlb page free again. The debug kernel (KASAN, lockdep,
 * DEBUG_VM) runs this too; tests/kernels/run.sh fails a boot whose console
 * shows a kernel report.
 */
#include <liburing.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "harness.h"
#include "ring.h"

#define M2	     (2ULL << 20)
#define MPOL_MF_MOVE (1 << 1) /* <numaif.h>, which needs libnuma-dev */
#define THP_LEN	     (8 * M2) /* THP, then 4 KiB pages */
#define SMALL_LEN    (2 * M2)
#define HUGE_LEN     (2 * M2)
#define REGION_LEN   (THP_LEN + SMALL_LEN + HUGE_LEN)

static char *region, *spare;
static bool have_huge;
static int data_fd, stop;
static unsigned long regs_ok, regs_failed, reads_ok, mutations[8];

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Map [off, off + len) of the region again, as it was first mapped. */
static void remap(uint64_t off, uint64_t len)
{
	char *p = region + off;
	bool huge = off >= THP_LEN + SMALL_LEN;
	void *q;

	if (huge && !have_huge)
		return;
	q = mmap(p, len, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS |
			 (huge ? MAP_HUGETLB : 0),
		 -1, 0);
	if (q == MAP_FAILED) /* hugepages taken by a pinned old copy */
		return;
	if (off < THP_LEN)
		madvise(p, len, MADV_HUGEPAGE);
	else if (!huge)
		madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 1, len);
}

static void *registrar(void *arg)
{
	uint64_t x = 0x9e3779b9ULL * (uint64_t)(uintptr_t)arg + 1;
	struct io_uring ring;

	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		uint64_t max = have_huge ? REGION_LEN : THP_LEN + SMALL_LEN;
		uint64_t off = (rnd(&x) % (max / 4096)) * 4096;
		uint64_t len = 4096 * (1 + rnd(&x) % 1024);
		struct iovec iov;

		if (off + len > max)
			len = max - off;
		iov = (struct iovec){region + off, len};
		if (io_uring_register_buffers(&ring, &iov, 1)) {
			__atomic_add_fetch(&regs_failed, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_add_fetch(&regs_ok, 1, __ATOMIC_RELAXED);
		/* the pages stay the buffer's even if the mapping changed */
		if (t_read_fixed(&ring, data_fd, region + off, 4096, 0, 0) ==
		    4096)
			__atomic_add_fetch(&reads_ok, 1, __ATOMIC_RELAXED);
		CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	}
	io_uring_queue_exit(&ring);
	return NULL;
}

static void *mutator(void *arg)
{
	uint64_t x = 12345;
	int cfd = open("/proc/sys/vm/compact_memory", O_WRONLY);

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		unsigned op = (unsigned)(rnd(&x) % 8);
		uint64_t piece = (rnd(&x) % (THP_LEN / M2)) * M2;
		uint64_t page = piece + (rnd(&x) % 512) * 4096;

		switch (op) {
		case 0: /* zap a page: splits the THP's PMD */
			madvise(region + page, 4096, MADV_DONTNEED);
			region[page] = 2;
			break;
		case 1: /* zap a whole piece, hugetlb included */
			if (rnd(&x) & 1 && have_huge)
				piece = THP_LEN + SMALL_LEN;
			madvise(region + piece, M2, MADV_DONTNEED);
			memset(region + piece, 2, M2);
			break;
		case 2: /* unmap and map again */
			munmap(region + piece, M2);
			remap(piece, M2);
			break;
		case 3: /* away and back */
			if (mremap(region + piece, M2, M2,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   spare) != MAP_FAILED &&
			    mremap(spare, M2, M2, MREMAP_MAYMOVE | MREMAP_FIXED,
				   region + piece) == MAP_FAILED)
				remap(piece, M2);
			break;
		case 4: { /* fork: copy-on-write of pinned pages */
			pid_t pid = fork();

			if (!pid)
				_exit(region[page] == 0);
			if (pid > 0)
				waitpid(pid, NULL, 0);
			break;
		}
		case 5: /* collapse into a THP */
			madvise(region + piece, M2, 25 /* MADV_COLLAPSE */);
			break;
		case 6: { /* migrate (to the node they are on: still moves) */
			void *pages[8];
			int nodes[8] = {0}, status[8];

			for (int i = 0; i < 8; i++)
				pages[i] = region + piece + (uint64_t)i * 65536;
			syscall(SYS_move_pages, 0, 8UL, pages, nodes, status,
				MPOL_MF_MOVE);
			break;
		}
		case 7: /* compact (root), now and then */
			if (cfd < 0 || rnd(&x) % 16)
				continue;
			if (pwrite(cfd, "1", 1, 0) < 0) {
				close(cfd);
				cfd = -1;
				continue;
			}
			break;
		}
		mutations[op]++;
	}
	if (cfd >= 0)
		close(cfd);
	return NULL;
}

int main(void)
{
	const char *env = getenv("REGBUF_RACE_SECONDS");
	double secs = env ? atof(env) : 3;
	static char blk[4096] __attribute__((aligned(4096)));
	uint64_t free0 = t_free_huge("2048");
	pthread_t th[3];
	long pin0;
	char *raw;

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	data_fd = t_open_direct(1 << 20);
	memset(blk, 7, sizeof(blk));
	CHECK_EQ(pwrite(data_fd, blk, sizeof(blk), 0), (ssize_t)sizeof(blk));
	raw = mmap(NULL, REGION_LEN + 2 * M2, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(raw != MAP_FAILED);
	region = (char *)(((uintptr_t)raw + M2 - 1) & ~(uintptr_t)(M2 - 1));
	spare = mmap(NULL, M2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(spare != MAP_FAILED);
	have_huge = free0 >= 4 + HUGE_LEN / M2;
	remap(0, THP_LEN);
	remap(THP_LEN, SMALL_LEN);
	if (have_huge)
		remap(THP_LEN + SMALL_LEN, HUGE_LEN);
	t_warm_threads(3);
	pin0 = t_vmpin_kb();
	CHECK_EQ(pthread_create(&th[0], NULL, registrar, (void *)1), 0);
	CHECK_EQ(pthread_create(&th[1], NULL, registrar, (void *)2), 0);
	CHECK_EQ(pthread_create(&th[2], NULL, mutator, NULL), 0);
	usleep((useconds_t)(secs * 1e6));
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(t_vmpin_settled(pin0), pin0);
	munmap(raw, REGION_LEN + 2 * M2);
	munmap(spare, M2);
	if (have_huge) {
		/* a pin left behind keeps a hugetlb page from the pool */
		for (int i = 0; i < 200 && t_free_huge("2048") != free0; i++)
			usleep(10000);
		CHECK_EQ(t_free_huge("2048"), free0);
	}
	close(data_fd);
	printf("  %.1f s: %lu registrations (%lu refused), %lu fixed reads, racing %lu zaps, %lu unmaps, %lu mremaps, %lu forks, %lu collapses, %lu migrations, %lu compactions%s; VmPin back%s\n",
	       secs, regs_ok, regs_failed, reads_ok,
	       mutations[0] + mutations[1], mutations[2], mutations[3],
	       mutations[4], mutations[5], mutations[6], mutations[7],
	       have_huge ? "" : " (no hugetlb: too few free 2 MiB pages)",
	       have_huge ? ", every hugetlb page free again" : "");
	CHECK(regs_ok > 0);
	return 0;
}
