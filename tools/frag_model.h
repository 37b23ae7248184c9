/* SPDX-License-Identifier: MIT */
/*
 * The fill workload of bench alloc and a model of a pool as
 * address-ordered holes and buffers (frag_model.c), shared by the CLI's
 * references (bench_frag.c) and the placement planners (bench/planners.c).
 */
#ifndef REGBUF_FRAG_MODEL_H
#define REGBUF_FRAG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FILL_POOL (64ULL << 20)
enum { MAXLIVE = 16384, SEG_CAP = 4 * MAXLIVE, VIEW_PIECES = 64 };

struct mix {
	uint64_t x;
};

uint64_t mix_step(struct mix *m);
/* The next event with n buffers live: a free of *victim (returns true) or
 * an allocation of *len bytes. */
bool mix_next(struct mix *m, unsigned n, unsigned *victim, size_t *len);
struct mix mix_seed(unsigned seed);

struct seg {
	uint64_t off, len;
	bool hole;
};

struct live {
	uint64_t off, len, req;
	unsigned view; /* 0, or 1 + its entry in the model's views */
};

/* A buffer made of pieces of free pages gathered into a new view. */
struct view {
	unsigned np;
	struct {
		uint64_t off, len;
	} p[VIEW_PIECES];
};

struct model {
	struct seg *seg;
	unsigned ns;
	struct live *live;
	unsigned n;
	uint64_t bytes;	    /* asked for, live */
	struct view *views; /* with page: views in use and free */
	unsigned nviews, *free_views, nfree;
};

enum place { BOTTOM, NEIGHBOUR };

int model_init(struct model *m);
void model_destroy(struct model *m);
void model_copy(struct model *to, const struct model *from);
void model_free(struct model *m, unsigned k);
/* The smallest hole that holds sz, or -1. */
long model_best(const struct model *m, uint64_t sz);
/* regbuf's rule: against the shorter neighbour of hole i. */
bool neighbour_low(const struct model *m, long i);
void model_put(struct model *m, unsigned i, bool low, uint64_t sz, size_t req);

/* Where a planner puts sz bytes of a request of req (the rule's choice is
 * *i, *low on entry); future: the workload's generator as it is. */
typedef void (*frag_chooser)(void *ctx, const struct model *m, uint64_t sz,
			     size_t req, struct mix future, long *i, bool *low);

/* The share of the pool asked for at the first failure in the model: the
 * bottom of the best hole, or against its shorter neighbour; page: gather
 * a buffer that finds no hole from free pages of that size; choose (for
 * buffers from 1 MiB) a planner's choice, or NULL. -1: no memory. */
double fill_model(unsigned seed, enum place place, uint64_t page,
		  frag_chooser choose, void *ctx);
/* The bound of an allocator that could move buffers: bytes only. */
double fill_moving(unsigned seed);

#endif
