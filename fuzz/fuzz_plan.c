/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the pure prediction and plan code: each input
 * describes a synthetic folio map (runs of any kind, flags and folio size)
 * and a few buffers over it. The plan must lay slots inside the map, in
 * order, without overlap, each within max_slot and never mixing folio
 * sizes; prediction must not crash and must agree with the plan on what
 * the kernel refuses.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "regbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define BASE 0x7f0000000000ULL

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const uint64_t folios[] = {4096,	   16384,   65536,
					  2 << 20, 1 << 30, 0};
	struct regbuf_run runs[16];
	struct regbuf_map map = {
		.source = REGBUF_SRC_KPAGEFLAGS, .addr = BASE, .runs = runs};
	struct regbuf_plan_slot slots[64];
	struct iovec iov[4];
	struct regbuf_prediction pred[4];
	uint64_t pos = BASE, max_slot;
	size_t i = 0;
	int ns, np;

	if (n < 2)
		return 0;
	max_slot = (uint64_t)(d[i++] % 8) << 20;
	while (i + 3 <= n && map.nr_runs < 16) {
		struct regbuf_run *r = &runs[map.nr_runs++];
		uint64_t fs = folios[d[i] % 6];
		uint64_t pages = (uint64_t)(d[i + 1] % 64) + 1;

		r->kind = (uint32_t)(d[i] >> 3) % 5;
		r->flags = d[i + 2] & 0x1f;
		r->folio_size = fs;
		/* lengths in folios for huge kinds, pages otherwise */
		r->len =
			fs > 4096 && fs < (1 << 30) ? pages * fs : pages * 4096;
		if (fs == (1 << 30))
			r->len = 1 << 30;
		/* align huge runs to their folio size */
		if (fs > 4096 && (pos & (fs - 1)))
			pos = (pos + fs - 1) & ~(fs - 1);
		if (map.nr_runs == 1)
			map.addr = pos;
		else if (runs[map.nr_runs - 2].start +
				 runs[map.nr_runs - 2].len !=
			 pos)
			/* a gap: make the previous run cover it */
			runs[map.nr_runs - 2].len =
				pos - runs[map.nr_runs - 2].start;
		r->start = pos;
		pos += r->len;
		i += 3;
	}
	if (!map.nr_runs)
		return 0;
	map.len = pos - map.addr;
	ns = regbuf_plan(&map, max_slot, slots, 64);
	if (ns > 0) {
		uint64_t end = 0, lim = max_slot ? max_slot : 1ULL << 30;

		for (int k = 0; k < ns && k < 64; k++) {
			check(slots[k].len > 0, "empty slot");
			check(slots[k].offset >= end,
			      "slots overlap or go back");
			check(slots[k].offset + slots[k].len <= map.len,
			      "slot outside the map");
			check(slots[k].len <= lim, "slot above max_slot");
			end = slots[k].offset + slots[k].len;
		}
	} else {
		check(ns == -EFAULT || ns == -E2BIG || ns == -EINVAL ||
			      ns == -ENOMEM,
		      "unexpected plan error");
	}
	np = 0;
	while (i + 2 <= n && np < 4) {
		uint64_t off = (uint64_t)d[i] * 4096 * 7 % map.len;
		uint64_t len = (uint64_t)(d[i + 1] + 1) * 4099;

		if (off + len > map.len)
			len = map.len - off;
		iov[np].iov_base = (void *)(uintptr_t)(map.addr + off);
		iov[np].iov_len = len ? len : 1;
		np++;
		i += 2;
	}
	if (np) {
		int r = regbuf_predict(&map, iov, (unsigned)np, pred);

		if (r == 0)
			for (int k = 0; k < np; k++)
				check(pred[k].cost_class >= 0 &&
					      pred[k].cost_class <= 4,
				      "cost class out of range");
	}
	return 0;
}
