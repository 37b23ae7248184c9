/* SPDX-License-Identifier: MIT */
/*
 * regbuf bench mixed: a region of 4 KiB pages and THP registered as one
 * buffer against regbuf's plan.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "regbuf/liburing.h"

int bench_mixed(struct opts *o)
{
	uint64_t size = (uint64_t)o->size, huge = 2ULL << 20;
	double naive[64], planned[64], regonly[64];
	int r, slots = 0;
	void *raw, *mem;
	struct iovec iov[64];
	unsigned n;

	if (!o->size_set) {
		/* the plan and the one buffer at once */
		size = fit_size(o, size, REGBUF_BACKING_AUTO, 2);
		if (size < 4 * huge)
			return memlock_short("mixed", 2 * 4 * huge, 2 * size);
	}
	if (size < 4 * huge || size > (1ULL << 30)) {
		fprintf(stderr, "bench mixed: size must be 8 MiB .. 1 GiB\n");
		return 2;
	}
	raw = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return 1;
	mem = (void *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	/* First 2 MiB in 4 KiB pages, the rest THP. */
	madvise(mem, huge, MADV_NOHUGEPAGE);
	madvise((char *)mem + huge, size - huge, MADV_HUGEPAGE);
	if (madvise(mem, size, 23 /* MADV_POPULATE_WRITE */))
		memset(mem, 1, size);
	n = gib_iovecs(mem, size, iov, 64);
	for (r = 0; r < o->repeat; r++) {
		struct regbuf_pool *pool;
		struct regbuf_pool_info info = {.struct_size = sizeof(info)};
		double t0;

		naive[r] = time_register(iov, n);
		t0 = now_ms();
		if (regbuf_pool_adopt(mem, size, NULL, &pool)) {
			fprintf(stderr, "bench mixed: %s\n",
				regbuf_last_error());
			return 1;
		}
		planned[r] = now_ms() - t0;
		regbuf_pool_info(pool, &info);
		regonly[r] = (double)info.register_ns / 1e6;
		slots = (int)info.nr_slots;
		regbuf_pool_destroy(pool);
	}
	munmap(raw, size + huge);
	double nv = median(naive, r), pl = median(planned, r),
	       ro = median(regonly, r);

	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "mixed");
		json_u64(&j, "size", size);
		json_num(&j, "naive_ms", nv);
		json_num(&j, "planned_ms", pl);
		json_num(&j, "planned_register_ms", ro);
		json_int(&j, "slots", slots);
		json_num(&j, "speedup", pl > 0 ? nv / pl : 0);
		json_int(&j, "repeat", r);
		json_end(&j);
	} else {
		char a[32];

		printf("mixed backing: %s THP with the first 2 MiB in 4 KiB pages (median of %d)\n",
		       rb_fmt_size(size, a, sizeof(a)), r);
		printf("  %-34s %9.2f ms\n", "as one buffer (what users do)",
		       nv);
		printf("  %-34s %9.2f ms  (%.0fx faster; %d slots; register alone %.2f ms)\n",
		       "regbuf plan (map + plan + register)", pl,
		       pl > 0 ? nv / pl : 0, slots, ro);
	}
	return 0;
}
