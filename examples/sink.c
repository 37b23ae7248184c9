/* SPDX-License-Identifier: MIT */
/*
 * sink: a receive-to-disk server on one io_uring ring.
 *
 * Connections on loopback are received with multishot receives into a
 * regbuf managed buffer ring whose buffers live in a registered pool, and
 * each received buffer is written to that connection's file with
 * WRITE_FIXED from the very same memory: no copy. The buffer is recycled
 * when its write completes. With --copy it does what a program without
 * regbuf does: copy each receive into a separate buffer, recycle at once,
 * and write the copy with a plain WRITE.
 *
 * Client threads in the same process connect and send a generated stream
 * (first 8 bytes: the stream id). At the end every file is checked byte
 * for byte against the stream its connection sent.
 *
 *   sink [--conns N] [--mib M | --seconds S] [--buf-size B] [--nbufs N]
 *        [--copy] [--inc] [--dir D] [--json]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regbuf.h"
#include "sink.h"

static int usage(void)
{
	fprintf(stderr, "usage: sink [--conns N] [--mib M | --seconds S] "
			"[--buf-size B]\n"
			"            [--nbufs N] [--copy] [--inc] [--dir D] "
			"[--json]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sink_opts o = {
		.conns = 4, .mib = 64, .buf_size = 64 * 1024, .nbufs = 256};
	struct sink_result r;
	bool json = false, nbufs_given = false;
	int ret;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--conns") && v)
			o.conns = atoi(v), i++;
		else if (!strcmp(argv[i], "--mib") && v)
			o.mib = strtoull(v, NULL, 0), i++;
		else if (!strcmp(argv[i], "--seconds") && v)
			o.seconds = atof(v), o.mib = 0, i++;
		else if (!strcmp(argv[i], "--buf-size") && v)
			o.buf_size = (uint32_t)strtoul(v, NULL, 0), i++;
		else if (!strcmp(argv[i], "--nbufs") && v)
			o.nbufs = (uint32_t)strtoul(v, NULL, 0), i++,
			nbufs_given = true;
		else if (!strcmp(argv[i], "--dir") && v)
			o.dir = v, i++;
		else if (!strcmp(argv[i], "--copy"))
			o.copy = true;
		else if (!strcmp(argv[i], "--inc"))
			o.inc = true;
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return usage();
	}
	if (o.conns < 1 || o.conns > 1024 || (!o.mib && o.seconds <= 0) ||
	    !o.buf_size || !o.nbufs)
		return usage();
	if (!nbufs_given && o.buf_size) {
		/* the default, 256 buffers, fitted to RLIMIT_MEMLOCK */
		uint32_t n = sink_fit_nbufs(o.nbufs, o.buf_size);

		if (n < o.nbufs)
			fprintf(stderr,
				"sink: %u buffers instead of %u, to fit what "
				"RLIMIT_MEMLOCK leaves (--nbufs to choose)\n",
				n, o.nbufs);
		o.nbufs = n;
	}
	ret = sink_run(&o, &r);
	if (ret) {
		fprintf(stderr, "sink: %s (%s)\n", strerror(-ret),
			regbuf_last_error());
		return 1;
	}
	if (json)
		printf("{\"mode\":\"%s\",\"conns\":%d,\"bytes\":%llu,"
		       "\"mib_s\":%.1f,\"cpu_ns_per_mib\":%.0f,\"dry\":%llu,"
		       "\"rearms\":%llu,\"incremental\":%s,"
		       "\"verified\":%s}\n",
		       o.copy ? "copy" : "zero_copy", o.conns,
		       (unsigned long long)r.bytes,
		       r.bytes / 1048576.0 / (r.wall_ns / 1e9),
		       r.cpu_ns / (r.bytes / 1048576.0),
		       (unsigned long long)r.dry, (unsigned long long)r.rearms,
		       r.inc_used ? "true" : "false",
		       r.verified ? "true" : "false");
	else
		printf("sink (%s): %d connections, %.1f MiB in %.3f s = %.1f "
		       "MiB/s, server CPU %.0f ns/MiB, ran dry %llu times, "
		       "re-armed %llu, %s\n",
		       o.copy ? "copy" : "zero copy", o.conns,
		       r.bytes / 1048576.0, r.wall_ns / 1e9,
		       r.bytes / 1048576.0 / (r.wall_ns / 1e9),
		       r.cpu_ns / (r.bytes / 1048576.0),
		       (unsigned long long)r.dry, (unsigned long long)r.rearms,
		       r.verified ? "verified byte for byte" : "VERIFY FAILED");
	return r.verified ? 0 : 1;
}
