/* SPDX-License-Identifier: MIT */
/*
 * Prediction and plan on synthetic folio maps, one case per kernel rule
 * (coalescing, accounting, the in-call double charge), then checked
 * against the real kernel: VmPin for the charge, the ring's fdinfo for the
 * slot table.
 */
#include <liburing.h>
#include <sys/mman.h>

#include "harness.h"

#define K4   4096ULL
#define M2   (2ULL << 20)
#define BASE 0x7f0000000000ULL

static struct regbuf_run runs[8];
static struct regbuf_map map;

static void mk(unsigned n, ...)
{
	va_list ap;
	uint64_t pos = BASE;

	va_start(ap, n);
	for (unsigned i = 0; i < n; i++) {
		runs[i].start = pos;
		runs[i].len = va_arg(ap, uint64_t);
		runs[i].kind = va_arg(ap, uint32_t);
		runs[i].folio_size = va_arg(ap, uint64_t);
		runs[i].flags = va_arg(ap, uint32_t);
		pos += runs[i].len;
	}
	va_end(ap);
	map = (struct regbuf_map){.source = REGBUF_SRC_SMAPS,
				  .addr = BASE,
				  .len = pos - BASE,
				  .nr_runs = n,
				  .runs = runs};
}

static struct regbuf_prediction pr[4];

static int predict(unsigned n, ...)
{
	struct iovec iov[4];
	va_list ap;

	va_start(ap, n);
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base =
			(void *)(uintptr_t)(BASE + va_arg(ap, uint64_t));
		iov[i].iov_len = va_arg(ap, uint64_t);
	}
	va_end(ap);
	return regbuf_predict(&map, iov, n, pr);
}

static void synthetic(int multi, int per_ring, int xarray)
{
	struct regbuf_plan_slot s[64];

	/* Whole huge folios: one bvec each, charged whole. */
	mk(1, 8 * M2, REGBUF_RUN_HUGETLB, M2, 0);
	CHECK_EQ(predict(1, 0ULL, 4 * M2), 0);
	CHECK_EQ(pr[0].coalesced, multi);
	CHECK_EQ(pr[0].bvecs, multi ? 4 : 4 * M2 / K4);
	CHECK_EQ(pr[0].charge, 4 * M2);
	CHECK_EQ(pr[0].cost_class,
		 multi ? REGBUF_COST_FAST : REGBUF_COST_PER_PAGE);
	/* The first folio may be entered part way (and the last left early):
	 * 2 MiB from 4 KiB in spans two huge pages, both charged. */
	CHECK_EQ(predict(1, K4, M2), 0);
	CHECK_EQ(pr[0].coalesced, multi);
	CHECK_EQ(pr[0].charge, 2 * M2);
	/* Inside one huge folio: coalesced on every kernel that coalesces. */
	CHECK_EQ(predict(1, K4, 64 * K4), 0);
	CHECK_EQ(pr[0].coalesced, 1);
	CHECK_EQ(pr[0].bvecs, 1);
	CHECK_EQ(pr[0].charge, M2);
	/* One page: nothing to coalesce, but the whole huge page is charged. */
	CHECK_EQ(predict(1, K4, K4), 0);
	CHECK_EQ(pr[0].coalesced, 0);
	CHECK_EQ(pr[0].bvecs, 1);
	CHECK_EQ(pr[0].charge, M2);
	/* The in-call quirk of 6.13 to 7.1: X, Y, X charges X twice; X, X
	 * once. Before and after, a huge page is charged once per ring. */
	CHECK_EQ(predict(3, 0ULL, K4, M2, K4, 8 * K4, K4), 0);
	CHECK_EQ(pr[0].charge + pr[1].charge + pr[2].charge,
		 per_ring ? 2 * M2 : 3 * M2);
	CHECK_EQ(predict(2, 0ULL, K4, 8 * K4, K4), 0);
	CHECK_EQ(pr[0].charge + pr[1].charge, M2);
	/* Kernel metadata: header + 16 bytes per bvec. */
	CHECK_EQ(predict(1, 0ULL, 4 * M2), 0);
	CHECK_EQ(pr[0].meta_bytes, 56 + 16 * pr[0].bvecs);

	/* 4 KiB pages: one bvec and one page of charge each. */
	mk(1, 4 * M2, REGBUF_RUN_4K, K4, 0);
	CHECK_EQ(predict(1, 0ULL, M2), 0);
	CHECK_EQ(pr[0].coalesced, 0);
	CHECK_EQ(pr[0].bvecs, M2 / K4);
	CHECK_EQ(pr[0].charge, M2);
	CHECK_EQ(pr[0].cost_class, REGBUF_COST_PER_PAGE);
	/* The same 4K page in two buffers is charged twice. */
	CHECK_EQ(predict(2, 0ULL, K4, 0ULL, K4), 0);
	CHECK_EQ(pr[0].charge + pr[1].charge, 2 * K4);

	/* Mixed folio sizes: the pathology. */
	mk(2, M2, REGBUF_RUN_4K, K4, 0, 6 * M2, REGBUF_RUN_THP, M2, 0);
	CHECK_EQ(predict(1, 0ULL, 7 * M2), 0);
	CHECK_EQ(pr[0].coalesced, 0);
	CHECK_EQ(pr[0].bvecs, 7 * M2 / K4);
	/* 7.2 counts huge pages in an xarray: no rescan, no coalescing */
	CHECK_EQ(pr[0].cost_class,
		 xarray ? REGBUF_COST_PER_PAGE : REGBUF_COST_MIXED);
	CHECK_EQ(pr[0].charge, 7 * M2);
	/* The plan splits it where the backing changes. */
	CHECK_EQ(regbuf_plan(&map, 0, s, 64), 2);
	CHECK_EQ(s[0].offset, 0);
	CHECK_EQ(s[0].len, M2);
	CHECK_EQ(s[0].kind, REGBUF_RUN_4K);
	CHECK_EQ(s[1].offset, M2);
	CHECK_EQ(s[1].len, 6 * M2);
	CHECK_EQ(s[1].bvecs, multi ? 6 : 6 * M2 / K4);
	/* ... and cuts at folio boundaries below the slot limit. */
	CHECK_EQ(regbuf_plan(&map, 4 * M2, s, 64), 3);
	CHECK_EQ(s[2].offset % M2, 0);
	CHECK_EQ(regbuf_plan(&map, 4096, NULL, 0), -EINVAL); /* < folio */
	/* Two huge sizes in one buffer: not coalesced either. */
	mk(2, M2, REGBUF_RUN_HUGETLB, M2, 0, M2, REGBUF_RUN_THP, 64 * K4, 0);
	CHECK_EQ(predict(1, 0ULL, 2 * M2), 0);
	CHECK_EQ(pr[0].coalesced, 0);

	/* Not present: faulted in by the kernel. */
	mk(1, M2, REGBUF_RUN_ABSENT, 0ULL, 0);
	CHECK_EQ(predict(1, 0ULL, M2), 0);
	CHECK_EQ(pr[0].cost_class, REGBUF_COST_FAULT);

	/* Refusals name the reason; the plan refuses too. */
	mk(1, M2, REGBUF_RUN_4K, K4, REGBUF_RUN_RO);
	CHECK_EQ(predict(1, 0ULL, M2), -EFAULT);
	CHECK_EQ(pr[0].cost_class, REGBUF_COST_REFUSED);
	CHECK(strstr(pr[0].why, "read-only"));
	CHECK_EQ(regbuf_plan(&map, 0, s, 64), -EFAULT);
	mk(1, M2, REGBUF_RUN_4K, K4, REGBUF_RUN_SHARED_FILE);
	CHECK_EQ(regbuf_plan(&map, 0, s, 64), -EFAULT);
	CHECK(strstr(regbuf_last_error(), "file"));
	/* Outside the map; bad arguments. */
	mk(1, M2, REGBUF_RUN_4K, K4, 0);
	CHECK_EQ(predict(1, M2, K4), -EFAULT);
	CHECK_EQ(predict(1, 0ULL, 0ULL), -EINVAL);
	CHECK_EQ(predict(1, 0ULL, 1ULL << 40), -EINVAL); /* > any kernel */
	CHECK_EQ(regbuf_predict(NULL, NULL, 1, pr), -EINVAL);
	/* More than 16384 slots. */
	mk(1, 1ULL << 36, REGBUF_RUN_4K, K4, 0);
	CHECK_EQ(regbuf_plan(&map, 1 << 20, NULL, 0), -E2BIG);
	printf("  synthetic maps: every coalescing and accounting rule\n");
}

static void real_kernel(void)
{
	/* one M2 of 4 KiB pages, the rest THP: 16 MiB, or 6 where
	 * RLIMIT_MEMLOCK is enforced */
	uint64_t size = t_fit(8 * M2, 3 * M2, M2, 0);
	char *raw, *mem, line[256];
	struct regbuf_pool *p;
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct io_uring ring;
	long pin0;

	if (!t_io_uring_ok()) {
		printf("  real kernel: io_uring unavailable, skipped\n");
		return;
	}
	raw = mmap(NULL, size + M2, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(raw != MAP_FAILED);
	mem = (char *)(((uintptr_t)raw + M2 - 1) & ~(uintptr_t)(M2 - 1));
	madvise(mem, M2, MADV_NOHUGEPAGE);
	madvise(mem + M2, size - M2, MADV_HUGEPAGE);
	memset(mem, 1, size);
	pin0 = t_vmpin_kb();
	CHECK_EQ(regbuf_pool_adopt(mem, size, NULL, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	/* The kernel charged what the plan predicted. */
	CHECK_EQ((t_vmpin_kb() - pin0) * 1024, (long)info.memlock_charge);
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	CHECK(regbuf_pool_attach(p, ring.ring_fd, 0) > 0);
	/* The ring's table has the plan's slots, at the plan's addresses. */
	CHECK_EQ(t_ring_bufs(ring.ring_fd, line, sizeof(line)),
		 info.nr_registered_slots);
	{
		char want[64];

		snprintf(want, sizeof(want), "0x%llx/%llu",
			 (unsigned long long)(uintptr_t)mem,
			 (unsigned long long)M2);
		if (!strstr(line, want)) {
			fprintf(stderr, "fdinfo slot 0: %s, want %s\n", line,
				want);
			exit(1);
		}
	}
	printf("  real kernel: %u slots, charge %llu KiB = VmPin delta, "
	       "fdinfo lists %u buffers, %llu bio_vecs predicted for %llu "
	       "MiB\n",
	       info.nr_slots, (unsigned long long)(info.memlock_charge >> 10),
	       info.nr_registered_slots,
	       (unsigned long long)info.predicted_bvecs,
	       (unsigned long long)(size >> 20));
	CHECK(regbuf_pool_detach(p, ring.ring_fd) == 0);
	io_uring_queue_exit(&ring);
	regbuf_pool_destroy(p);
	/* some kernels unpin released buffers from deferred work */
	CHECK_EQ(t_vmpin_settled(pin0), pin0);
	munmap(raw, size + M2);
}

/* Adopting memory the kernel would refuse fails before anything is
 * registered, and the error names the first offending address. */
static void expect_refused(void *addr, size_t len, int want, const void *first,
			   const char *what)
{
	struct regbuf_pool *p = (struct regbuf_pool *)0x1;
	struct t_held before = t_held_now();
	char hex[32];
	int ret = regbuf_pool_adopt(addr, len, NULL, &p);

	if (ret != want) {
		fprintf(stderr, "%s: adopt returned %d, want %d (%s)\n", what,
			ret, want, regbuf_last_error());
		exit(1);
	}
	CHECK(p == (struct regbuf_pool *)0x1);
	snprintf(hex, sizeof(hex), "0x%llx",
		 (unsigned long long)(uintptr_t)first);
	if (first && !strstr(regbuf_last_error(), hex)) {
		fprintf(stderr, "%s: error \"%s\" does not name %s\n", what,
			regbuf_last_error(), hex);
		exit(1);
	}
	CHECK_HELD_SAME(before);
	printf("  refused %s: %s\n", what, regbuf_last_error());
}

static void refusals(void)
{
	size_t pg = 4096;
	char *m, *ro;
	int fd;

	/* Partly mapped: the third of four pages is a hole. */
	m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	memset(m, 1, 4 * pg);
	CHECK_EQ(munmap(m + 2 * pg, pg), 0);
	expect_refused(m, 4 * pg, -EFAULT, m + 2 * pg, "partly mapped");
	/* Wholly unmapped. */
	expect_refused(m + 2 * pg, pg, -EFAULT, m + 2 * pg, "unmapped");
	/* Read-only after a writable first page. */
	CHECK_EQ(mprotect(m + 3 * pg, pg, PROT_READ), 0);
	ro = m + 3 * pg;
	expect_refused(ro, pg, -EFAULT, ro, "read-only");
	munmap(m, 2 * pg);
	munmap(m + 3 * pg, pg);
	/* A range that wraps around the address space. */
	expect_refused((void *)(uintptr_t) - (uintptr_t)(2 * pg), 4 * pg,
		       -EOVERFLOW, NULL, "overflowing range");
	/* MAP_SHARED of a file on a writeback file system (ext4 here). */
	fd = t_open_direct(4 * pg);
	m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	memset(m, 2, 4 * pg);
	expect_refused(m, 4 * pg, -EFAULT, m, "shared file mapping");
	munmap(m, 4 * pg);
	close(fd);
}

/* Slots follow the largest buffer the kernel takes: a 1 GiB + 2 MiB pool
 * is one slot where buffers over 1 GiB are taken (7.2+), two before; the
 * ring's table holds exactly that. */
static void slot_limit(bool large)
{
	const uint64_t size = (1ULL << 30) + (2 << 20);
	struct regbuf_pool_info info = REGBUF_STRUCT_INIT(info);
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	struct io_uring ring;
	char line[256], want[64];

	if (!t_io_uring_ok())
		return;
	regbuf_pool_opts_init(&o);
	o.size = size;
	o.backing = REGBUF_BACKING_PAGES;
	o.flags = REGBUF_POOL_STRICT;
	if (t_fit(size, 0, 4096, 0) < size) {
		/* RLIMIT_MEMLOCK holds no 1 GiB: the layout alone */
		o.flags |= REGBUF_POOL_NO_REGISTER | REGBUF_POOL_NO_POPULATE;
		CHECK_EQ(regbuf_pool_create(&o, &p), 0);
		CHECK_EQ(regbuf_pool_info(p, &info), 0);
		CHECK_EQ(info.nr_slots, large ? 1 : 2);
		CHECK_EQ(info.nr_registered_slots, 0);
		regbuf_pool_destroy(p);
		printf("  a 1 GiB + 2 MiB pool: %u slot(s) (%s); not "
		       "registered: RLIMIT_MEMLOCK is smaller\n",
		       info.nr_slots,
		       large ? "this kernel takes buffers over 1 GiB"
			     : "1 GiB per buffer here");
		return;
	}
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK_EQ(info.nr_slots, large ? 1 : 2);
	CHECK_EQ(info.nr_registered_slots, info.nr_slots);
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	CHECK(regbuf_pool_attach(p, ring.ring_fd, 0) > 0);
	CHECK_EQ(t_ring_bufs(ring.ring_fd, line, sizeof(line)), info.nr_slots);
	snprintf(want, sizeof(want), "/%llu",
		 (unsigned long long)(large ? size : 1ULL << 30));
	CHECK(strstr(line, want));
	io_uring_queue_exit(&ring);
	regbuf_pool_destroy(p);
	printf("  a 1 GiB + 2 MiB pool: %u slot(s) (%s)\n", info.nr_slots,
	       large ? "this kernel takes buffers over 1 GiB"
		     : "1 GiB per buffer here");
}

int main(void)
{
	struct regbuf_features f = {.struct_size = sizeof(f)};

	regbuf_features_get(&f);
	synthetic(!!(f.features & REGBUF_FEAT_COALESCE),
		  !!(f.features & REGBUF_FEAT_HPAGE_PER_RING),
		  !!(f.features & REGBUF_FEAT_HPAGE_XARRAY));
	real_kernel();
	refusals();
	slot_limit(!!(f.features & REGBUF_FEAT_LARGE_BUFS));
	return 0;
}
