/* SPDX-License-Identifier: MIT */
/*
 * Sizes for people ("1.5 GiB", "2 MiB", "4096 B"): header-only, so that the
 * library's messages and the CLI (which may link only the shared library,
 * where internal symbols are hidden) print sizes the one same way.
 */
#ifndef REGBUF_FMT_H
#define REGBUF_FMT_H

#include <stdint.h>
#include <stdio.h>

static inline const char *rb_fmt_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, size, "%llu %s", (unsigned long long)v, unit[u]);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
	return buf;
}

#endif
