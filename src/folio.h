/* SPDX-License-Identifier: MIT */
/*
 * Folio maps of memory (folio.c) beside the public map, predict and plan
 * API (plan.c).
 */
#ifndef REGBUF_FOLIO_H
#define REGBUF_FOLIO_H

#include "probe.h"

/* folio.c (internal helpers beside the public map API) */
/* exact: use kpageflags when allowed (slow, sees mTHP); otherwise prefer
 * PAGEMAP_SCAN (fast; PMD-mapped huge or not). */
int rb_map_create(int pid, uint64_t addr, uint64_t len, bool exact,
		  struct regbuf_map **out);
/* Bytes of [addr, addr+len) mapped by huge (PMD/PUD) entries, or -errno. */
int64_t rb_huge_bytes(void *addr, uint64_t len);

#endif
