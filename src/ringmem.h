/* SPDX-License-Identifier: MIT */
/*
 * What a ring's own memory charges to RLIMIT_MEMLOCK (from 6.13, never
 * shown in VmPin): header-only, for the library's budget and for
 * `regbuf ps`, which reads the sizes from each ring's fdinfo.
 */
#ifndef REGBUF_RINGMEM_H
#define REGBUF_RINGMEM_H

#include <stdint.h>

/* struct io_rings (two cache-line-aligned head/tail pairs and the ring
 * fields, 320 bytes), the CQEs and the SQ index array; then the SQEs:
 * each region a whole number of pages. CQE32, SQE128 and NO_SQARRAY are
 * not shown in fdinfo: plain rings are assumed. */
static inline uint64_t rb_ring_own_charge(unsigned sq_entries,
					  unsigned cq_entries, uint64_t page)
{
	uint64_t rings = ((320 + (uint64_t)cq_entries * 16 + 63) & ~63ULL) +
			 (uint64_t)sq_entries * 4;
	uint64_t sqes = (uint64_t)sq_entries * 64;

	return ((rings + page - 1) / page + (sqes + page - 1) / page) * page;
}

/* The kernel charges it: 6.13 and later (version as major * 1000 +
 * minor, 0 unknown: assumed new). */
static inline int rb_ring_own_charged(int kver)
{
	return !kver || kver >= 6013;
}

#endif
