/* SPDX-License-Identifier: MIT */
/*
 * bench alloc's fragmentation half: how full a pool is when a mixed
 * workload first fails, for regbuf and for references that run the same
 * requests.
 *
 * The workload: random sizes (half 512 B..16 KiB, a third 16 KiB..1 MiB,
 * the rest 1..8 MiB), allocated and freed at random (each live buffer as
 * likely as any other) with allocation slightly more likely, on a fresh
 * 64 MiB pool until the first allocation fails. Until that failure the
 * requests do not depend on the allocator, so the same sequence runs
 * against references that round to 4 KiB and keep no metadata, on a model
 * of the pool as address-ordered holes and buffers:
 *
 *  - plain best fit: the bottom of the smallest hole that holds the buffer;
 *  - the bound of an allocator that could move buffers: it fails only when
 *    fewer bytes are free than asked for;
 *  - a what-if: a buffer that finds no hole is gathered from whole free
 *    pages (4 KiB, or 2 MiB) anywhere in the pool into a new view, as a
 *    shared pool could by mapping those pages again side by side and
 *    registering the mapping as a buffer of its own (at most 64 pieces);
 *
 * Two placement planners, which tell what better placement could still
 * win, are a program of their own: bench/planners.c (make bench).
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "frag_model.h"

/* ---- regbuf ---- */

static struct frag_one fill_regbuf(unsigned seed)
{
	static struct regbuf_buf live[MAXLIVE];
	struct regbuf_pool_opts po;
	struct regbuf_pool *pool;
	struct mix m = mix_seed(seed);
	struct frag_one f = {-1, -1};
	uint64_t bytes = 0;
	unsigned n = 0, k;
	size_t len;

	regbuf_pool_opts_init(&po);
	po.size = FILL_POOL;
	/* placement does not depend on registration (the slots are laid out
	 * alike): not registered, so it runs within any RLIMIT_MEMLOCK */
	po.flags = REGBUF_POOL_NO_REGISTER;
	if (regbuf_pool_create(&po, &pool))
		return f;
	for (unsigned step = 0; step < 10000000; step++) {
		if (mix_next(&m, n, &k, &len)) {
			bytes -= live[k].len;
			regbuf_free(pool, &live[k]);
			live[k] = live[--n];
			continue;
		}
		if (regbuf_alloc(pool, len, 0, &live[n])) {
			struct regbuf_alloc_stats st = {.struct_size =
								sizeof(st)};

			regbuf_alloc_stats(pool, &st);
			f.asked = (double)bytes / (double)FILL_POOL;
			f.held = (double)st.bytes_in_use / (double)FILL_POOL;
			break;
		}
		bytes += len;
		n++;
	}
	while (n)
		regbuf_free(pool, &live[--n]);
	regbuf_pool_destroy(pool);
	return f;
}

int bench_frag(struct frag *f)
{
	double asked[FRAG_SEEDS], held[FRAG_SEEDS], best[FRAG_SEEDS],
		moving[FRAG_SEEDS], view_4k[FRAG_SEEDS], view_2m[FRAG_SEEDS];
	bool failed = false; /* a run could not be made (no memory) */

	for (unsigned k = 0; k < FRAG_SEEDS; k++) {
		struct frag_one r = fill_regbuf(k + 1);

		asked[k] = r.asked;
		held[k] = r.held;
		best[k] = fill_model(k + 1, BOTTOM, 0, NULL, NULL);
		view_4k[k] = fill_model(k + 1, NEIGHBOUR, 4096, NULL, NULL);
		view_2m[k] = fill_model(k + 1, NEIGHBOUR, 2 << 20, NULL, NULL);
		moving[k] = fill_moving(k + 1);
		failed |= asked[k] < 0 || best[k] < 0 || view_4k[k] < 0 ||
			  view_2m[k] < 0;
	}
	f->regbuf.asked = median(asked, FRAG_SEEDS);
	f->regbuf.held = median(held, FRAG_SEEDS);
	f->best_fit = median(best, FRAG_SEEDS);
	f->moving = median(moving, FRAG_SEEDS);
	f->view_4k = median(view_4k, FRAG_SEEDS);
	f->view_2m = median(view_2m, FRAG_SEEDS);
	return failed ? -1 : 0;
}
