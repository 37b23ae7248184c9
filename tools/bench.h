/* SPDX-License-Identifier: MIT */
#ifndef REGBUF_BENCH_H
#define REGBUF_BENCH_H

#include "cli.h"

struct opts {
	bool json;
	int repeat;
	int64_t size;
	bool size_set; /* --size given (else defaults fit RLIMIT_MEMLOCK) */
	int backing;
	bool backing_set; /* --backing given (attach: AUTO otherwise) */
	int rings, threads, qd, conns;
	int64_t bs;
	double seconds;
	const char *target;
	bool fill;    /* bench io: write the check pattern to --target first */
	bool planner; /* bench alloc: also run the two planners (slow) */
};

/* bench alloc's fragmentation half (bench_frag.c): medians over
 * FRAG_SEEDS request sequences of the share of a 64 MiB pool in use at
 * the first failure. */
enum { FRAG_SEEDS = 41 };

struct frag_one {
	double asked, held; /* bytes asked for / handed out */
};

struct frag {
	struct frag_one regbuf;
	double best_fit, moving;
	double view_4k, view_2m;   /* whole free pages gathered into a view */
	double planner, foresight; /* -1: not run */
};

int bench_frag(struct frag *f, bool planners);

double median(double *v, int n);
int bench_io(struct opts *o);
int bench_sink(struct opts *o);

#endif
