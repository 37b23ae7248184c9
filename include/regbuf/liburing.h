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
#include <string.h>

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

/*
 * Fixed read (write = 0) or write of [addr, addr + len) of pool memory that
 * may span several slots (one fixed I/O must lie inside one registered
 * buffer): one SQE per slot piece, at consecutive file offsets from foff,
 * linked with IOSQE_IO_LINK so they run in order and a failed or short
 * piece cancels the rest (-ECANCELED). Every SQE gets user_data. Pieces in
 * memory that is not registered use plain I/O. Returns the number of SQEs
 * queued (not submitted), or -EINVAL / -EFAULT (not inside the pool) /
 * -EBUSY (not enough free SQEs), with nothing queued.
 */
static inline int regbuf_prep_rw_span(struct io_uring *ring,
				      const struct regbuf_pool *pool, int write,
				      int fd, void *addr, size_t len,
				      __u64 foff, unsigned base_slot,
				      __u64 user_data)
{
	struct regbuf_slot_info si;
	char *base = (char *)regbuf_pool_base(pool);
	char *p = (char *)addr, *end = p + len;
	unsigned n = 0, i = 0;

	/* two lock-free lookups per piece (regbuf_pool_slot_of(): a binary
	 * search of the slots), the count first: all or nothing */
	memset(&si, 0, sizeof(si));
	si.struct_size = sizeof(si);
	if (!ring || !base || !len || end < p)
		return -EINVAL;
	while (p < end) {
		int s = regbuf_pool_slot_of(pool, p, &si);

		if (s < 0)
			return s;
		p = base + si.offset + si.len < end ? base + si.offset + si.len
						    : end;
		n++;
	}
	if (io_uring_sq_space_left(ring) < n)
		return -EBUSY;
	for (p = (char *)addr; p < end; i++) {
		int s = regbuf_pool_slot_of(pool, p, &si);
		char *stop = base + si.offset + si.len < end
				     ? base + si.offset + si.len
				     : end;
		unsigned l = (unsigned)(stop - p);
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		if (!si.registered && write)
			io_uring_prep_write(sqe, fd, p, l, foff);
		else if (!si.registered)
			io_uring_prep_read(sqe, fd, p, l, foff);
		else if (write)
			io_uring_prep_write_fixed(
				sqe, fd, p, l, foff,
				(int)(base_slot + (unsigned)s));
		else
			io_uring_prep_read_fixed(
				sqe, fd, p, l, foff,
				(int)(base_slot + (unsigned)s));
		if (i + 1 < n)
			sqe->flags |= IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, user_data);
		foff += l;
		p = stop;
	}
	return (int)n;
}

#ifndef REGBUF_OP_READV_FIXED
#define REGBUF_OP_READV_FIXED  60 /* IORING_OP_READV_FIXED, 6.15 */
#define REGBUF_OP_WRITEV_FIXED 61 /* IORING_OP_WRITEV_FIXED */
#endif

/*
 * Read (write = 0) or write nr iovecs of pool memory at file offset foff
 * in one SQE: READ_FIXED / WRITE_FIXED for one iovec, READV_FIXED /
 * WRITEV_FIXED for several when vec_fixed is non-zero (the kernel has
 * REGBUF_FEAT_RW_VEC_FIXED), both when every iovec lies in one registered
 * slot (regbuf_pool_iov_slot()); READ/READV (WRITE/WRITEV) otherwise, as
 * without regbuf. The iovec array must stay valid until the SQE is
 * submitted (as for readv). Returns 1 when the SQE uses the fixed buffer,
 * 0 when it is plain I/O, -EINVAL (nothing prepared) for bad arguments.
 */
static inline int regbuf_prep_rw_iov(struct io_uring_sqe *sqe,
				     const struct regbuf_pool *pool, int write,
				     int fd, const struct iovec *iov,
				     unsigned nr, __u64 foff,
				     unsigned base_slot, int vec_fixed)
{
	int s = -EXDEV;

	if (!sqe || !iov || !nr)
		return -EINVAL;
	if (pool && (nr == 1 || vec_fixed))
		s = regbuf_pool_iov_slot(pool, iov, nr);
	if (nr == 1 && write)
		io_uring_prep_write(sqe, fd, iov->iov_base,
				    (unsigned)iov->iov_len, foff);
	else if (nr == 1)
		io_uring_prep_read(sqe, fd, iov->iov_base,
				   (unsigned)iov->iov_len, foff);
	else if (write)
		io_uring_prep_writev(sqe, fd, iov, nr, foff);
	else
		io_uring_prep_readv(sqe, fd, iov, nr, foff);
	if (s < 0)
		return 0;
	/* the same fields, with the fixed opcode and its slot */
	if (nr == 1)
		sqe->opcode =
			write ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED;
	else
		sqe->opcode =
			write ? REGBUF_OP_WRITEV_FIXED : REGBUF_OP_READV_FIXED;
	sqe->buf_index = (__u16)(base_slot + (unsigned)s);
	return 1;
}

/*
 * Receive on socket fd into a buffer the kernel picks from the bufring:
 * multishot (one SQE, a CQE per receive until it ends) when multishot is
 * non-zero. Hand each CQE to regbuf_bufring_take().
 */
static inline void regbuf_prep_recv_select(struct io_uring_sqe *sqe, int fd,
					   const struct regbuf_bufring *br,
					   unsigned len, int multishot)
{
	if (multishot)
		io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, fd, NULL, len, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (__u16)regbuf_bufring_bgid(br);
}

/*
 * Receive a bundle on socket fd: what is queued, into as many buffers of
 * the bufring as it needs, with one completion (Linux 6.10+; -EINVAL in
 * the CQE before). Hand the CQE to regbuf_bufring_take() with room for
 * several handles. The length asked for is what the group's buffers in the
 * kernel hold: with no length, kernels that do not learn the socket's
 * queue length from the receive (6.12 with AF_UNIX, for one) fill a single
 * buffer per bundle. Returns 0, or -EINVAL (no bufring) with nothing
 * prepared.
 */
static inline int regbuf_prep_recv_bundle(struct io_uring_sqe *sqe, int fd,
					  const struct regbuf_bufring *br)
{
	struct regbuf_bufring_stats st;
	unsigned long long len;

	memset(&st, 0, sizeof(st)); /* C and C++ alike */
	st.struct_size = sizeof(st);
	if (regbuf_bufring_stats(br, &st))
		return -EINVAL;
	len = (unsigned long long)st.buf_size * st.in_kernel;
	regbuf_prep_recv_select(
		sqe, fd, br, len > 0x7ffff000ULL ? 0x7ffff000U : (unsigned)len,
		0);
	sqe->ioprio |= 1U << 4; /* IORING_RECVSEND_BUNDLE */
	return 0;
}

/*
 * Re-arm a multishot receive that ended (a CQE without IORING_CQE_F_MORE,
 * e.g. -ENOBUFS after the bufring ran dry): one call, on the group that
 * has buffers now. Queued, not submitted. Returns 0 or -EBUSY (SQ full).
 */
static inline int regbuf_bufring_rearm(struct io_uring *ring,
				       const struct regbuf_bufring *br, int fd,
				       __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		return -EBUSY;
	regbuf_prep_recv_select(sqe, fd, br, 0, 1);
	io_uring_sqe_set_data64(sqe, user_data);
	return 0;
}

#endif
