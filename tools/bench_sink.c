/* SPDX-License-Identifier: MIT */
#include "bench.h"

int bench_sink(struct opts *o)
{
	(void)o;
	fprintf(stderr, "bench sink: not built yet (managed buffer rings are "
			"not implemented in this version)\n");
	return 1;
}
