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
	bool fill; /* bench io: write the check pattern to --target first */
	int node;  /* --node N: pools bound to NUMA node N (-1: any) */
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
	double view_4k, view_2m; /* whole free pages gathered into a view */
};

int bench_frag(struct frag *f);

/* bench_util.c */
double median(double *v, int n);
/* A note on stdout (stderr with --json, keeping the JSON clean). */
void note(const struct opts *o, const char *fmt, const char *a);
/* iovecs of at most 1 GiB over [p, p + len); the count (at most max). */
struct iovec;
unsigned gib_iovecs(void *p, uint64_t len, struct iovec *iov, unsigned max);
/* One io_uring_register_buffers() of iov on a fresh ring, in ms. */
double time_register(const struct iovec *iov, unsigned n);
/* Largest size <= want the backing can hold now, copies registrations of
 * it at once within RLIMIT_MEMLOCK. */
uint64_t fit_size(const struct opts *o, uint64_t want, int backing,
		  unsigned copies);
/* The one sentence for a benchmark that RLIMIT_MEMLOCK cannot hold: 1. */
int memlock_short(const char *bench, uint64_t need, uint64_t got);

/* one file each, dispatched by bench.c */
int bench_register(struct opts *o);
int bench_attach(struct opts *o);
int bench_mixed(struct opts *o);
int bench_alloc(struct opts *o);
int bench_io(struct opts *o);
int bench_sink(struct opts *o);

#endif
