/* SPDX-License-Identifier: MIT */
/* One fixed-buffer I/O at a time on a liburing ring, for the tests. */
#ifndef REGBUF_TEST_RING_H
#define REGBUF_TEST_RING_H

#include <errno.h>
#include <liburing.h>

/* Buffer clone (Linux 6.12) under the kernel's names where the build's
 * liburing predates it (Debian 12 has 2.3, which does not say its
 * version; 2.8 has it): for the tests that call it directly. Defined as
 * a macro after liburing's enum, the opcode keeps the same value. */
#ifndef IO_URING_CHECK_VERSION
#define IO_URING_CHECK_VERSION(major, minor) 1
#endif
#if IO_URING_CHECK_VERSION(2, 8)
#define IORING_REGISTER_CLONE_BUFFERS 30
struct io_uring_clone_buffers {
	__u32 src_fd;
	__u32 flags;
	__u32 src_off;
	__u32 dst_off;
	__u32 nr;
	__u32 pad[3];
};
#endif

/* Submit the one queued SQE and return its completion's result; -EIO if
 * not exactly one SQE went in, or the submit/wait error. */
static inline int t_run_one(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_submit_and_wait(ring, 1);

	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static inline int t_write_fixed(struct io_uring *ring, int fd, const void *buf,
				unsigned len, uint64_t off, int index)
{
	io_uring_prep_write_fixed(io_uring_get_sqe(ring), fd, buf, len, off,
				  index);
	return t_run_one(ring);
}

static inline int t_read_fixed(struct io_uring *ring, int fd, void *buf,
			       unsigned len, uint64_t off, int index)
{
	io_uring_prep_read_fixed(io_uring_get_sqe(ring), fd, buf, len, off,
				 index);
	return t_run_one(ring);
}

#endif
