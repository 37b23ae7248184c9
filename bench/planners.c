/* SPDX-License-Identifier: MIT */
/*
 * Two placement planners on bench alloc's fill workload (tools/
 * frag_model.c), to tell what better placement than regbuf's could still
 * win: research beside the product, not part of the CLI.
 *
 * Both place each buffer of 1 MiB or more by following regbuf's choice
 * and the two ends of each of the three smallest holes that hold it
 * through rollouts of the workload, in which every later buffer is placed
 * by regbuf's rule (best fit, against the shorter neighbour). A candidate
 * replaces regbuf's choice only when it survives more events than that
 * choice by over three standard errors of the paired difference. The
 * first planner knows the workload's distribution: its 128 rollouts draw
 * requests and frees from the same generator with fresh seeds. The second
 * is shown the future: its one rollout replays the requests and frees
 * that will really come. If the first does no better than regbuf,
 * placement has little left to win that rollouts can find; the second
 * shows what knowing the order of the frees would be worth.
 *
 *   planners [--json]           (make bench; about 20 s)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/frag_model.h"

enum {
	SEEDS = 41,	  /* the seeds of regbuf bench alloc */
	ROLLOUTS = 128,	  /* per candidate, for the first planner */
	HORIZON = 600,	  /* events per rollout */
	CANDIDATES = 3,	  /* smallest holes tried, both ends each */
	FORESIGHT = 1500, /* events the second planner looks ahead */
};

/* Events until the first failure (at most horizon) with every buffer
 * placed by regbuf's rule. */
static unsigned rollout(struct model *m, struct mix x, unsigned horizon)
{
	unsigned k;
	size_t len;

	for (unsigned t = 0; t < horizon; t++) {
		if (mix_next(&x, m->n, &k, &len)) {
			model_free(m, k);
			continue;
		}
		uint64_t sz = (len + 4095) & ~4095ULL;
		long i = model_best(m, sz);

		if (i < 0)
			return t;
		model_put(m, (unsigned)i, neighbour_low(m, i), sz, len);
	}
	return horizon;
}

struct planner {
	struct model scratch;
	struct mix fresh; /* seeds of the rollouts that do not see ahead */
	bool foresight;
	double base[ROLLOUTS];
};

/*
 * Where the planner puts sz bytes (regbuf's choice is *i, *low): the
 * candidate that outlives regbuf's choice by more than two standard
 * errors over the same rollouts, if any. future: the real generator's
 * state, for the planner that sees ahead.
 */
static void plan(void *ctx, const struct model *m, uint64_t sz, size_t req,
		 struct mix future, long *i, bool *low)
{
	struct planner *p = ctx;
	unsigned nr = p->foresight ? 1 : ROLLOUTS,
		 horizon = p->foresight ? FORESIGHT : HORIZON;
	struct mix seeds[ROLLOUTS];
	long cand[CANDIDATES];
	unsigned nc = 0;
	double best_gain = 0;

	for (unsigned r = 0; r < nr; r++) {
		seeds[r] = p->foresight ? future
					: (struct mix){mix_step(&p->fresh)};
		model_copy(&p->scratch, m);
		model_put(&p->scratch, (unsigned)*i, *low, sz, req);
		p->base[r] = rollout(&p->scratch, seeds[r], horizon);
	}
	/* The CANDIDATES smallest holes that hold sz, smallest first. */
	for (unsigned j = 0; j < m->ns; j++) {
		unsigned at;

		if (!m->seg[j].hole || m->seg[j].len < sz ||
		    (nc == CANDIDATES &&
		     m->seg[j].len >= m->seg[cand[nc - 1]].len))
			continue;
		at = nc < CANDIDATES ? nc++ : nc - 1;
		for (; at > 0 && m->seg[cand[at - 1]].len > m->seg[j].len; at--)
			cand[at] = cand[at - 1];
		cand[at] = j;
	}
	long pick = *i;
	bool pick_low = *low;

	for (unsigned c = 0; c < nc; c++)
		for (int end = 0; end < 2; end++) {
			bool l = end == 0;
			double sum = 0, sq = 0;

			if ((cand[c] == *i && l == *low) ||
			    (!l && m->seg[cand[c]].len == sz))
				continue;
			for (unsigned r = 0; r < nr; r++) {
				double d;

				model_copy(&p->scratch, m);
				model_put(&p->scratch, (unsigned)cand[c], l, sz,
					  req);
				d = rollout(&p->scratch, seeds[r], horizon) -
				    p->base[r];
				sum += d, sq += d * d;
			}
			double mean = sum / nr,
			       se = nr > 1 ? sqrt((sq - sum * mean) / (nr - 1) /
						  nr)
					   : 0;

			if (mean > best_gain && mean > 3 * se) {
				best_gain = mean;
				pick = cand[c];
				pick_low = l;
			}
		}
	*i = pick;
	*low = pick_low;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	struct planner p = {.fresh = {0x2545f4914f6cdd1dULL}};
	double rule[SEEDS], dist[SEEDS], fut[SEEDS];
	int json = argc > 1 && !strcmp(argv[1], "--json");

	if (model_init(&p.scratch))
		return 1;
	for (unsigned k = 0; k < SEEDS; k++) {
		rule[k] = fill_model(k + 1, NEIGHBOUR, 0, NULL, NULL);
		p.foresight = false;
		dist[k] = fill_model(k + 1, NEIGHBOUR, 0, plan, &p);
		p.foresight = true;
		fut[k] = fill_model(k + 1, NEIGHBOUR, 0, plan, &p);
		if (rule[k] < 0 || dist[k] < 0 || fut[k] < 0)
			return 1;
	}
	model_destroy(&p.scratch);
	if (json)
		printf("{\"bench\":\"planners\",\"rule_fill_at_first_failure\":%.4f,\"planner_fill_at_first_failure\":%.4f,\"foresight_fill_at_first_failure\":%.4f,\"seeds\":%d}\n",
		       median(rule, SEEDS), median(dist, SEEDS),
		       median(fut, SEEDS), SEEDS);
	else
		printf("fill at the first failure, median of %d seeds: regbuf's rule on the model %.1f %%, a planner that knows the distribution %.1f %%, one shown the future %.1f %%\n",
		       SEEDS, median(rule, SEEDS) * 100,
		       median(dist, SEEDS) * 100, median(fut, SEEDS) * 100);
	return 0;
}
