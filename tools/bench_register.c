/* SPDX-License-Identifier: MIT */
/*
 * regbuf bench register: a pool's registration against raw
 * REGISTER_BUFFERS of the same memory and a naive 4 KiB-page program.
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

int bench_register(struct opts *o)
{
	/* the pool, raw and naive registrations at once */
	uint64_t size = fit_size(o, (uint64_t)o->size, o->backing, 3);
	double lib[64], raw[64], naive[64], pop[64];
	struct iovec iov[64];
	unsigned n;
	void *mem;
	int r;

	if (!size)
		return fprintf(stderr, "bench register: no %s memory free\n",
			       regbuf_backing_name(o->backing)),
		       1;
	if (posix_memalign(&mem, 4096, size))
		return 1;
	madvise(mem, size, MADV_NOHUGEPAGE);
	memset(mem, 1, size);
	n = gib_iovecs(mem, size, iov, 64);
	for (r = 0; r < o->repeat; r++) {
		struct regbuf_pool_opts po;
		struct regbuf_pool *pool;
		struct regbuf_pool_info info = {.struct_size = sizeof(info)};
		struct iovec piov[64];

		regbuf_pool_opts_init(&po);
		po.size = size;
		po.numa_node = o->node;
		po.backing = o->backing;
		po.flags = REGBUF_POOL_STRICT;
		if (regbuf_pool_create(&po, &pool)) {
			fprintf(stderr, "bench register: %s\n",
				regbuf_last_error());
			free(mem);
			return 1;
		}
		regbuf_pool_info(pool, &info);
		lib[r] = (double)info.register_ns / 1e6;
		pop[r] = (double)info.populate_ns / 1e6;
		raw[r] = time_register(piov, gib_iovecs(regbuf_pool_base(pool),
							regbuf_pool_size(pool),
							piov, 64));
		regbuf_pool_destroy(pool);
		naive[r] = time_register(iov, n);
	}
	free(mem);
	double l = median(lib, r), w = median(raw, r), v = median(naive, r),
	       p = median(pop, r), gib = (double)size / (1 << 30);

	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "register");
		json_u64(&j, "size", size);
		json_str(&j, "backing", regbuf_backing_name(o->backing));
		json_num(&j, "library_ms", l);
		json_num(&j, "raw_ms", w);
		json_num(&j, "naive_ms", v);
		json_num(&j, "populate_ms", p);
		json_num(&j, "library_ms_per_gib", l / gib);
		json_num(&j, "naive_ms_per_gib", v / gib);
		json_num(&j, "library_vs_raw", w > 0 ? l / w : 0);
		json_num(&j, "naive_vs_library", l > 0 ? v / l : 0);
		json_int(&j, "repeat", r);
		json_end(&j);
	} else {
		char a[32];

		printf("register %s, backing %s (median of %d)\n",
		       rb_fmt_size(size, a, sizeof(a)),
		       regbuf_backing_name(o->backing), r);
		printf("  %-34s %9.2f ms  (%.2f ms/GiB)\n", "regbuf pool", l,
		       l / gib);
		printf("  %-34s %9.2f ms  (regbuf/raw %.2fx)\n",
		       "raw REGISTER_BUFFERS, same memory", w,
		       w > 0 ? l / w : 0);
		printf("  %-34s %9.2f ms  (%.1fx slower than regbuf)\n",
		       "naive: posix_memalign 4K + liburing", v,
		       l > 0 ? v / l : 0);
		printf("  %-34s %9.2f ms  (not in the figures above)\n",
		       "populating the pool", p);
	}
	return 0;
}
