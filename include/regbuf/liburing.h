/* SPDX-License-Identifier: MIT */
/*
 * Optional helpers for liburing users: prepare fixed-buffer reads and
 * writes from regbuf buffer handles. Header-only; the only regbuf header
 * that includes liburing.
 *
 * Slot numbers: a pool attached at first_slot puts its slot s at ring
 * index first_slot + s; pass that first_slot as base_slot below.
 */
#ifndef REGBUF_LIBURING_H
#define REGBUF_LIBURING_H

#include <errno.h>
#include <liburing.h>

#include "regbuf.h"

/*
 * READ_FIXED of len bytes into buf at byte offset off inside the buffer,
 * from file offset foff. Falls back to a plain READ when the buffer's
 * memory is not registered. Returns 0, or -EINVAL (nothing prepared) when
 * [off, off + len) does not lie inside the buffer.
 */
static inline int regbuf_prep_read(struct io_uring_sqe *sqe, int fd,
				   const struct regbuf_buf *buf, size_t off,
				   unsigned len, __u64 foff, unsigned base_slot)
{
	if (!buf || off > buf->len || len > buf->len - off)
		return -EINVAL;
	if (buf->slot >= 0)
		io_uring_prep_read_fixed(
			sqe, fd, (char *)buf->addr + off, len, foff,
			(int)(base_slot + (unsigned)buf->slot));
	else
		io_uring_prep_read(sqe, fd, (char *)buf->addr + off, len, foff);
	return 0;
}

/* WRITE_FIXED counterpart of regbuf_prep_read(). */
static inline int regbuf_prep_write(struct io_uring_sqe *sqe, int fd,
				    const struct regbuf_buf *buf, size_t off,
				    unsigned len, __u64 foff,
				    unsigned base_slot)
{
	if (!buf || off > buf->len || len > buf->len - off)
		return -EINVAL;
	if (buf->slot >= 0)
		io_uring_prep_write_fixed(
			sqe, fd, (const char *)buf->addr + off, len, foff,
			(int)(base_slot + (unsigned)buf->slot));
	else
		io_uring_prep_write(sqe, fd, (const char *)buf->addr + off, len,
				    foff);
	return 0;
}

#endif
