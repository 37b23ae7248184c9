/* SPDX-License-Identifier: MIT */
/*
 * regbuf bench alloc: alloc+free pairs against malloc and a locked free
 * list, prep_rw_span per piece, and the fill at the first failure
 * (bench_frag.c).
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

/* ---- alloc ---- */

static const size_t alloc_sizes[] = {4096, 8192,  16384,  65536,
				     4096, 32768, 131072, 4096};
#define NSIZES	  (sizeof(alloc_sizes) / sizeof(alloc_sizes[0]))
#define WINDOW	  8
#define ALLOC_OPS 2000000

struct mfl { /* a plain mutex-protected free list per size */
	pthread_mutex_t lock;
	void **items[NSIZES];
	size_t nr[NSIZES];
};

struct athread {
	int kind; /* 0 regbuf, 1 malloc, 2 mutex free list */
	struct regbuf_pool *pool;
	struct mfl *mfl;
	double ns;
	int err;
};

static int size_idx(size_t s)
{
	for (unsigned i = 0; i < NSIZES; i++)
		if (alloc_sizes[i] == s)
			return (int)i;
	return 0;
}

static void *alloc_worker(void *arg)
{
	struct athread *t = arg;
	struct regbuf_buf live[WINDOW];
	void *lp[WINDOW];
	size_t ls[WINDOW];
	double t0;

	memset(live, 0, sizeof(live));
	memset(lp, 0, sizeof(lp));
	t0 = now_ms();
	for (unsigned i = 0; i < ALLOC_OPS; i++) {
		unsigned w = i % WINDOW;
		size_t sz = alloc_sizes[i % NSIZES];

		if (t->kind == 0) {
			if (live[w].addr && regbuf_free(t->pool, &live[w]))
				t->err++;
			if (regbuf_alloc(t->pool, sz, 0, &live[w]))
				t->err++;
			else
				*(volatile char *)live[w].addr = 1;
		} else if (t->kind == 1) {
			free(lp[w]);
			lp[w] = malloc(sz);
			*(volatile char *)lp[w] = 1;
		} else {
			struct mfl *m = t->mfl;

			pthread_mutex_lock(&m->lock);
			if (lp[w]) {
				int k = size_idx(ls[w]);

				m->items[k][m->nr[k]++] = lp[w];
			}
			int k = size_idx(sz);

			lp[w] = m->nr[k] ? m->items[k][--m->nr[k]] : NULL;
			pthread_mutex_unlock(&m->lock);
			if (!lp[w])
				lp[w] = malloc(sz);
			ls[w] = sz;
			*(volatile char *)lp[w] = 1;
		}
	}
	t->ns = (now_ms() - t0) * 1e6 / ALLOC_OPS;
	for (unsigned w = 0; w < WINDOW; w++) {
		if (t->kind == 0 && live[w].addr)
			regbuf_free(t->pool, &live[w]);
		else if (t->kind == 1)
			free(lp[w]);
		else if (lp[w]) {
			pthread_mutex_lock(&t->mfl->lock);
			int k = size_idx(ls[w]);

			t->mfl->items[k][t->mfl->nr[k]++] = lp[w];
			pthread_mutex_unlock(&t->mfl->lock);
		}
	}
	return NULL;
}

static double run_alloc(int kind, int threads, struct regbuf_pool *pool,
			struct mfl *m, int *err)
{
	pthread_t th[64];
	struct athread at[64];
	double sum = 0;

	for (int i = 0; i < threads; i++) {
		at[i] = (struct athread){.kind = kind, .pool = pool, .mfl = m};
		pthread_create(&th[i], NULL, alloc_worker, &at[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		sum += at[i].ns;
		*err += at[i].err;
	}
	/* Per pair, per thread: time one thread spends on one pair. */
	return sum / threads;
}

/*
 * regbuf_prep_rw_span() over a range across three 1 MiB slots, in ns per
 * piece (SQE): the SQEs are taken back from the ring after each call, so
 * only the preparation is timed. -1 when no pool could be made.
 */
static double time_prep_rw_span(void)
{
	struct regbuf_pool_opts po;
	struct regbuf_pool *pool;
	struct io_uring ring;
	enum { ROUNDS = 200000 };
	double t0, ns = -1;
	char *base;

	regbuf_pool_opts_init(&po);
	po.size = 4 << 20;
	po.backing = REGBUF_BACKING_PAGES;
	po.max_slot_size = 1 << 20;
	po.flags = REGBUF_POOL_NO_REGISTER; /* the lookups are the same */
	if (regbuf_pool_create(&po, &pool))
		return -1;
	if (io_uring_queue_init(8, &ring, 0)) {
		regbuf_pool_destroy(pool);
		return -1;
	}
	base = regbuf_pool_base(pool);
	t0 = now_ms();
	for (int i = 0; i < ROUNDS; i++) {
		int n = regbuf_prep_rw_span(&ring, pool, 0, 0,
					    base + (512 << 10), 2 << 20, 0, 0,
					    0);

		if (n != 3)
			goto out;
		ring.sq.sqe_tail -= (unsigned)n; /* not submitted */
	}
	ns = (now_ms() - t0) * 1e6 / (3.0 * ROUNDS);
out:
	io_uring_queue_exit(&ring);
	regbuf_pool_destroy(pool);
	return ns;
}

int bench_alloc(struct opts *o)
{
	struct regbuf_pool_opts po;
	struct regbuf_pool *pool;
	struct mfl m;
	double rb[64], ml[64], mf[64];
	int err = 0, r;

	if (o->threads < 1 || o->threads > 64)
		return usage_error("bench", "--threads 1..64");
	regbuf_pool_opts_init(&po);
	po.numa_node = o->node;
	/* 256 MiB, or what RLIMIT_MEMLOCK leaves: the working set is 8
	 * buffers of up to 128 KiB per thread and their size classes' spans */
	po.size = fit_size(o, 256ULL << 20, REGBUF_BACKING_AUTO, 1);
	if (po.size < (uint64_t)o->threads * (2 << 20))
		return memlock_short("alloc", (uint64_t)o->threads * (2 << 20),
				     po.size);
	if (regbuf_pool_create(&po, &pool)) {
		fprintf(stderr, "bench alloc: %s\n", regbuf_last_error());
		return 1;
	}
	memset(&m, 0, sizeof(m));
	pthread_mutex_init(&m.lock, NULL);
	for (unsigned i = 0; i < NSIZES; i++)
		m.items[i] = calloc((size_t)WINDOW * 64 * 2, sizeof(void *));
	for (r = 0; r < o->repeat; r++) {
		rb[r] = run_alloc(0, o->threads, pool, NULL, &err);
		ml[r] = run_alloc(1, o->threads, NULL, NULL, &err);
		mf[r] = run_alloc(2, o->threads, NULL, &m, &err);
	}
	double a = median(rb, r), b = median(ml, r), c = median(mf, r);
	double span = time_prep_rw_span();
	struct frag f;

	if (bench_frag(&f)) {
		fprintf(stderr, "bench alloc: out of memory\n");
		err++;
	}
	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "alloc");
		json_int(&j, "threads", o->threads);
		json_num(&j, "regbuf_ns_per_pair", a);
		json_num(&j, "malloc_ns_per_pair", b);
		json_num(&j, "mutex_freelist_ns_per_pair", c);
		json_num(&j, "prep_rw_span_ns_per_piece", span);
		json_num(&j, "fill_at_first_failure", f.regbuf.asked);
		json_num(&j, "held_at_first_failure", f.regbuf.held);
		json_num(&j, "best_fit_fill_at_first_failure", f.best_fit);
		json_num(&j, "moving_fill_at_first_failure", f.moving);
		json_num(&j, "view_4k_fill_at_first_failure", f.view_4k);
		json_num(&j, "view_2m_fill_at_first_failure", f.view_2m);
		json_int(&j, "fill_seeds", FRAG_SEEDS);
		json_int(&j, "errors", err);
		json_int(&j, "repeat", r);
		json_end(&j);
	} else {
		printf("alloc + free pairs, mixed sizes 4K..128K, %d thread(s) (median of %d)\n",
		       o->threads, r);
		printf("  %-22s %7.1f ns per pair\n", "regbuf", a);
		printf("  %-22s %7.1f ns per pair\n", "glibc malloc/free", b);
		printf("  %-22s %7.1f ns per pair\n", "mutex free list", c);
		printf("  %-22s %7.1f ns per SQE (a range over 3 slots)\n",
		       "regbuf_prep_rw_span", span);
		printf("  mixed 512 B..8 MiB workload on 64 MiB: first failure with %.0f%% of the pool asked for, %.0f%% handed out (median of %d seeds)\n",
		       f.regbuf.asked * 100, f.regbuf.held * 100, FRAG_SEEDS);
		printf("  the same requests: %.0f%% with plain best fit, %.0f%% if buffers could move\n",
		       f.best_fit * 100, f.moving * 100);
		printf("  if free pages could be gathered into a new registered view: %.0f%% with 4 KiB pages, %.0f%% with 2 MiB pages\n",
		       f.view_4k * 100, f.view_2m * 100);
		if (err)
			printf("  %d errors!\n", err);
	}
	for (unsigned i = 0; i < NSIZES; i++) {
		for (size_t k = 0; k < m.nr[i]; k++)
			free(m.items[i][k]);
		free(m.items[i]);
	}
	regbuf_pool_destroy(pool);
	return err ? 1 : 0;
}
