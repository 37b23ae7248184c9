/* SPDX-License-Identifier: MIT */
/*
 * The receive-to-disk server of examples/sink.c (sink_core.c), shared by
 * the example's main and by `regbuf bench sink`.
 */
#ifndef REGBUF_EXAMPLE_SINK_H
#define REGBUF_EXAMPLE_SINK_H

#include <stdbool.h>
#include <stdint.h>

struct sink_opts {
	int conns;
	uint64_t mib;	/* per connection; 0: time based */
	double seconds; /* when mib is 0 */
	uint32_t buf_size, nbufs;
	bool copy, inc;
	const char *dir;
};

struct sink_result {
	uint64_t bytes;	   /* received and written */
	uint64_t wall_ns;  /* first accept to last write */
	uint64_t cpu_ns;   /* the server thread's CPU time */
	uint64_t receives; /* receive completions */
	uint64_t dry;	   /* times the buffer ring ran dry */
	uint64_t rearms;
	uint32_t inc_used;
	bool verified;
};

/* The most buffers, nbufs or fewer (halved, so a power of two stays
 * one), whose pool fits what RLIMIT_MEMLOCK leaves this user now. */
uint32_t sink_fit_nbufs(uint32_t nbufs, uint32_t buf_size);

/* Serve o->conns loopback connections from client threads of this process,
 * write each to a file, verify them; 0 or -errno. */
int sink_run(const struct sink_opts *o, struct sink_result *res);

#endif
