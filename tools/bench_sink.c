/* SPDX-License-Identifier: MIT */
/*
 * regbuf bench sink: the receive-to-disk sink of examples/sink.c, writing
 * each received buffer with WRITE_FIXED from the buffer ring's own memory
 * versus copying it into a separate buffer first. Runs alternate between
 * the two modes; medians over --repeat runs; every run verifies the files.
 */
#include <stdio.h>
#include <string.h>

#include "../examples/sink.h"
#include "bench.h"

int bench_sink(struct opts *o)
{
	double zc[64], cp[64], zc_cpu[64], cp_cpu[64];
	uint64_t dry = 0;
	bool verified = true, inc = false;
	/* 256 buffers of 64 KiB, or what RLIMIT_MEMLOCK leaves room for */
	uint32_t nbufs = sink_fit_nbufs(256, 64 * 1024);
	int r;

	for (r = 0; r < o->repeat; r++) {
		for (int m = 0; m < 2; m++) {
			struct sink_opts so = {.conns = o->conns,
					       .seconds = o->seconds,
					       .buf_size = 64 * 1024,
					       .nbufs = nbufs,
					       .copy = m == 1};
			struct sink_result res;
			int ret = sink_run(&so, &res);
			double mib = res.bytes / 1048576.0;

			if (ret) {
				fprintf(stderr, "bench sink: %s (%s)\n",
					strerror(-ret), regbuf_last_error());
				return 1;
			}
			verified &= res.verified;
			(m ? cp : zc)[r] = mib / (res.wall_ns / 1e9);
			(m ? cp_cpu : zc_cpu)[r] = res.cpu_ns / mib;
			if (!m) {
				dry += res.dry;
				inc |= res.inc_used;
			}
		}
	}
	double z = median(zc, r), c = median(cp, r);
	double zcpu = median(zc_cpu, r), ccpu = median(cp_cpu, r);

	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "sink");
		json_int(&j, "conns", o->conns);
		json_int(&j, "nbufs", (int)nbufs);
		json_num(&j, "seconds", o->seconds);
		json_num(&j, "zero_copy_mib_s", z);
		json_num(&j, "copy_mib_s", c);
		json_num(&j, "zero_copy_cpu_ns_per_mib", zcpu);
		json_num(&j, "copy_cpu_ns_per_mib", ccpu);
		json_num(&j, "speedup", c > 0 ? z / c : 0);
		json_u64(&j, "zero_copy_dry", dry);
		json_bool(&j, "incremental", inc);
		json_bool(&j, "verified", verified);
		json_int(&j, "repeat", r);
		json_end(&j);
	} else {
		printf("receive-to-file sink, %d loopback connections, %u buffers of 64 KiB, %.1f s per run, median of %d\n",
		       o->conns, nbufs, o->seconds, r);
		printf("  %-34s %9.1f MiB/s %9.0f server CPU ns/MiB\n",
		       "WRITE_FIXED from the receive buffer", z, zcpu);
		printf("  %-34s %9.1f MiB/s %9.0f server CPU ns/MiB (%.2fx)\n",
		       "copy, then plain WRITE", c, ccpu, c > 0 ? z / c : 0);
		printf("  buffer ring ran dry %llu times; data %s\n",
		       (unsigned long long)dry,
		       verified ? "verified byte for byte" : "NOT VERIFIED");
	}
	return verified ? 0 : 1;
}
