/* SPDX-License-Identifier: MIT */
/*
 * regbuf bench attach: attaching a pool to N rings by clone against
 * registering it again in each.
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

int bench_attach(struct opts *o)
{
	/* the pool and one ring registering it again, unless --size says */
	uint64_t size = o->size_set ? (uint64_t)o->size
				    : fit_size(o, (uint64_t)o->size,
					       REGBUF_BACKING_AUTO, 2);
	double att[64], reg[64];
	struct regbuf_pool_opts po;
	struct regbuf_pool *pool;
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct io_uring *rings = calloc((size_t)o->rings, sizeof(*rings));
	struct iovec iov[64];
	unsigned n;
	int method = 0, r;

	regbuf_pool_opts_init(&po);
	po.size = size;
	po.numa_node = o->node;
	if (o->backing_set) {
		po.backing = o->backing;
		po.flags = REGBUF_POOL_STRICT;
	}
	if (!size)
		return memlock_short("attach", 2 << 20, 0);
	if (!rings || regbuf_pool_create(&po, &pool)) {
		fprintf(stderr, "bench attach: %s\n", regbuf_last_error());
		return 1;
	}
	regbuf_pool_info(pool, &info);
	n = pool_slot_iovecs(pool, iov, 64);
	for (r = 0; r < o->repeat; r++) {
		double t0, a = 0, g = 0;

		for (int k = 0; k < o->rings; k++)
			io_uring_queue_init(1, &rings[k], 0);
		for (int k = 0; k < o->rings; k++) {
			t0 = now_ms();
			method = regbuf_pool_attach(pool, rings[k].ring_fd, 0);
			a += now_ms() - t0;
			if (method < 0) {
				fprintf(stderr, "bench attach: %s\n",
					regbuf_last_error());
				return 1;
			}
		}
		for (int k = 0; k < o->rings; k++) {
			regbuf_pool_detach(pool, rings[k].ring_fd);
			io_uring_unregister_buffers(&rings[k]);
		}
		for (int k = 0; k < o->rings; k++) {
			t0 = now_ms();
			if (io_uring_register_buffers(&rings[k], iov, n)) {
				fprintf(stderr,
					"bench attach: registering into a ring failed\n");
				return 1;
			}
			g += now_ms() - t0;
			io_uring_unregister_buffers(&rings[k]);
			io_uring_queue_exit(&rings[k]);
		}
		att[r] = a * 1e3 / o->rings;
		reg[r] = g * 1e3 / o->rings;
	}
	double a = median(att, r), g = median(reg, r);

	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "attach");
		json_u64(&j, "size", info.size);
		json_int(&j, "rings", o->rings);
		json_str(&j, "method", regbuf_attach_method_name(method));
		json_str(&j, "backing", regbuf_backing_name(info.backing));
		json_int(&j, "slots", info.nr_registered_slots);
		json_num(&j, "attach_us_per_ring", a);
		json_num(&j, "register_us_per_ring", g);
		json_num(&j, "speedup", a > 0 ? g / a : 0);
		json_str(&j, "attach_cost",
			 regbuf_attach_cost_name(info.attach_cost));
		json_u64(&j, "attach_cost_units", info.attach_cost_units);
		json_int(&j, "repeat", r);
		json_end(&j);
	} else {
		char s[32];

		printf("attach %d rings to a %s %s pool (%u slots, median of %d)\n",
		       o->rings, rb_fmt_size(info.size, s, sizeof(s)),
		       regbuf_backing_name(info.backing),
		       info.nr_registered_slots, r);
		printf("  %-28s %10.1f us per ring\n",
		       regbuf_attach_method_name(method), a);
		printf("  %-28s %10.1f us per ring (%.0fx)\n",
		       "register again per ring", g, a > 0 ? g / a : 0);
		printf("  attach cost class here: %s (%llu units per ring)\n",
		       regbuf_attach_cost_name(info.attach_cost),
		       (unsigned long long)info.attach_cost_units);
	}
	regbuf_pool_destroy(pool);
	free(rings);
	return 0;
}
