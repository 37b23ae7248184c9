/* SPDX-License-Identifier: MIT */
/*
 * regbuf bench: each claim measured against what a user would otherwise
 * do, side by side in one run; medians over --repeat runs.
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
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "regbuf/liburing.h"

const char bench_usage[] =
	"usage: regbuf bench <register|attach|mixed|alloc|io|sink> [options] [--json] [--repeat N]\n"
	"  [--node N]  every pool bound to NUMA node N (register, attach, alloc, io)\n"
	"  register [--size S] [--backing 1g|2m|thp|4k]  pool registration vs raw vs naive\n"
	"  attach   [--size S] [--rings N] [--backing B]  attach by clone vs registering per ring\n"
	"  mixed    [--size S]               one mixed-backing buffer vs the plan\n"
	"  alloc    [--threads T]           regbuf_alloc/free vs malloc vs a mutex free list;\n"
	"                                    fill at the first failure vs best fit (placement\n"
	"                                    planners: bench/planners, make bench)\n"
	"  io       [--target PATH|auto [--fill]] [--bs B] [--qd Q] [--seconds S]\n"
	"           [--backing B]            CPU per O_DIRECT read by buffer kind\n"
	"                                    (B: the pool's memory, fixed and plain)\n"
	"  sink     [--conns C] [--seconds S]  receive-to-file with WRITE_FIXED from\n"
	"                                    the buffer ring vs copying first\n";

int cmd_bench(int argc, char **argv)
{
	struct opts o = {.repeat = 5,
			 .size = 1LL << 30,
			 .backing = REGBUF_BACKING_HUGE_2M,
			 .rings = 8,
			 .threads = 1,
			 .qd = 32,
			 .conns = 4,
			 .bs = 128 * 1024,
			 .seconds = 1,
			 .target = "auto",
			 .node = -1};
	const char *sub;

	if (argc < 2)
		return usage_error("bench", "which benchmark?");
	sub = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--json"))
			o.json = true;
		else if (!strcmp(argv[i], "--repeat") && v)
			o.repeat = atoi(v), i++;
		else if (!strcmp(argv[i], "--size") && v)
			o.size = parse_size(v), i++, o.size_set = true;
		else if (!strcmp(argv[i], "--backing") && v)
			o.backing = regbuf_backing_parse(v), i++,
			o.backing_set = true;
		else if (!strcmp(argv[i], "--rings") && v)
			o.rings = atoi(v), i++;
		else if (!strcmp(argv[i], "--threads") && v)
			o.threads = atoi(v), i++;
		else if (!strcmp(argv[i], "--qd") && v)
			o.qd = atoi(v), i++;
		else if (!strcmp(argv[i], "--bs") && v)
			o.bs = parse_size(v), i++;
		else if (!strcmp(argv[i], "--seconds") && v)
			o.seconds = atof(v), i++;
		else if (!strcmp(argv[i], "--target") && v)
			o.target = v, i++;
		else if (!strcmp(argv[i], "--fill"))
			o.fill = true;
		else if (!strcmp(argv[i], "--conns") && v)
			o.conns = atoi(v), i++;
		else if (!strcmp(argv[i], "--node") && v)
			o.node = atoi(v), i++;
		else
			return usage_error("bench", "unknown option '%s'",
					   argv[i]);
	}
	if (o.repeat < 1 || o.repeat > 64 || o.size <= 0 || o.rings < 1 ||
	    o.rings > 4096 || o.backing < 0 || o.bs < 512 || o.qd < 1 ||
	    o.qd > 4096 || o.seconds <= 0 || o.conns < 1 || o.conns > 64 ||
	    o.node < -1 || o.node > 1023)
		return usage_error("bench", "option out of range");
	if (!strcmp(sub, "register"))
		return bench_register(&o);
	if (!strcmp(sub, "attach"))
		return bench_attach(&o);
	if (!strcmp(sub, "mixed")) {
		if (!o.size_set)
			o.size = 1LL << 30;
		return bench_mixed(&o);
	}
	if (!strcmp(sub, "alloc"))
		return bench_alloc(&o);
	if (!strcmp(sub, "io"))
		return bench_io(&o);
	if (!strcmp(sub, "sink"))
		return bench_sink(&o);
	return usage_error("bench", "unknown benchmark '%s'", sub);
}
