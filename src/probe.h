/* SPDX-License-Identifier: MIT */
/*
 * What the running kernel and machine support (features.c): probes, limits,
 * the accounting rules of the kernel at hand.
 */
#ifndef REGBUF_PROBE_H
#define REGBUF_PROBE_H

#include "base.h"

/* features.c */
const struct regbuf_features *rb_features(void);
bool rb_has(uint64_t feat);
/* The longest buffer (and default slot) the running kernel takes. */
uint64_t rb_max_buf_size(void);
/* Kernel version as major*1000 + minor, 0 if unknown. */
int rb_kernel_version(void);
int rb_free_hugepages(uint64_t page_size, int node, uint64_t *free);
uint64_t rb_memlock_limit(void);
bool rb_cap_ipc_lock(void);
/* Bytes charged to this user's RLIMIT_MEMLOCK as /proc shows them. */
int rb_user_pinned(uint64_t *bytes);
/* The same, and (rings not NULL; 6.13+, else 0) an estimate of the own
 * SQ/CQ memory of the user's nr_rings io_uring rings, charged to the same
 * limit but not shown in VmPin. */
int rb_user_charge(uint64_t *pinned, uint64_t *rings, unsigned *nr_rings);
/* Will the kernel charge pinned memory of a ring this process creates now
 * (to RLIMIT_MEMLOCK and VmPin)? Not on 7.2+ with CAP_IPC_LOCK. */
static inline bool rb_pin_charged(void)
{
	return !(rb_has(REGBUF_FEAT_PRIV_UNACCOUNTED) && rb_cap_ipc_lock());
}
/* A huge page is charged once per ring, whatever buffers share it. */
static inline bool rb_hpage_per_ring(void)
{
	return rb_has(REGBUF_FEAT_HPAGE_PER_RING);
}
/* 7.2's per-ring xarray: no accounting rescans, clones take references. */
static inline bool rb_hpage_xarray(void)
{
	return rb_has(REGBUF_FEAT_HPAGE_XARRAY);
}

#endif
