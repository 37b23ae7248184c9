/* SPDX-License-Identifier: MIT */
/*
 * The allocator of fixed buffers inside a pool (alloc.c), used by the
 * buffer rings (bufring.c) and driven by the pool (pool.c).
 */
#ifndef REGBUF_ALLOC_H
#define REGBUF_ALLOC_H

#include "pool.h"

/* alloc.c */
int rb_alloc_init(struct regbuf_pool *p);
/* New slots [first, first + nr) become free memory (the pool publishes
 * them in nr_slots afterwards). */
void rb_alloc_grow(struct regbuf_pool *p, unsigned first, unsigned nr);
void rb_alloc_fini(struct regbuf_pool *p);
/* Reserve a raw region in a registered slot (for bufrings): 0 / -ENOMEM. */
int rb_alloc_raw(struct regbuf_pool *p, size_t len, size_t align,
		 struct regbuf_buf *buf);

#endif
