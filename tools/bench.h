/* SPDX-License-Identifier: MIT */
#ifndef REGBUF_BENCH_H
#define REGBUF_BENCH_H

#include "cli.h"

struct opts {
	bool json;
	int repeat;
	int64_t size;
	int backing;
	bool backing_set; /* --backing given (attach: AUTO otherwise) */
	int rings, threads, qd, conns;
	int64_t bs;
	double seconds;
	const char *target;
	bool fill; /* bench io: write the check pattern to --target first */
};

double median(double *v, int n);
int bench_io(struct opts *o);
int bench_sink(struct opts *o);

#endif
