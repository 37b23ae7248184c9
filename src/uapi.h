/* SPDX-License-Identifier: MIT */
/*
 * The kernel interface regbuf uses, under the kernel's own names, so that
 * every constant and structure greps against the kernel's uapi headers
 * (include/uapi/linux/io_uring.h, fs.h, mman.h, memfd.h, mempolicy.h,
 * kernel-page-flags.h) and liburing. Values follow Linux 6.18; the sizes
 * of the structures are checked at the end.
 *
 * The build machine's headers may be older (Debian 12: 6.1 uapi headers,
 * liburing 2.3), so each macro is defined only where it is missing. The
 * io_uring enums and structures cannot be guarded one by one: they are
 * defined here, as in the kernel's header and under its include guard
 * (LINUX_IO_URING_H), when no io_uring header came first. The library
 * includes none; a test or tool that includes <liburing.h> includes it
 * before this header and uses liburing's definitions. Names that are the
 * project's own (limits regbuf derives, RB_REGISTER_NR_OPS) keep RB_.
 */
#ifndef REGBUF_UAPI_H
#define REGBUF_UAPI_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

#ifndef LINUX_IO_URING_H
#define LINUX_IO_URING_H
#define REGBUF_UAPI_IO_URING 1 /* the definitions below are ours */

/* io_uring_register(2) opcodes */
enum io_uring_register_op {
	IORING_REGISTER_BUFFERS = 0,
	IORING_UNREGISTER_BUFFERS = 1,
	IORING_REGISTER_PROBE = 8,
	IORING_REGISTER_BUFFERS2 = 15,
	IORING_REGISTER_BUFFERS_UPDATE = 16,
	IORING_REGISTER_PBUF_RING = 22,
	IORING_UNREGISTER_PBUF_RING = 23,
	IORING_REGISTER_PBUF_STATUS = 26,
	IORING_REGISTER_CLONE_BUFFERS = 30,
	IORING_REGISTER_MEM_REGION = 34,
	IORING_REGISTER_QUERY = 35,
};

/* SQE opcodes */
enum io_uring_op {
	IORING_OP_NOP = 0,
	IORING_OP_READ_FIXED = 4,
	IORING_OP_WRITE_FIXED = 5,
	IORING_OP_READ = 22,
	IORING_OP_WRITE = 23,
	IORING_OP_RECV = 27,
	IORING_OP_READV_FIXED = 60,
	IORING_OP_WRITEV_FIXED = 61,
};

/* struct io_uring_clone_buffers flags */
enum {
	IORING_REGISTER_SRC_REGISTERED = (1U << 0),
	IORING_REGISTER_DST_REPLACE = (1U << 1),
};

/* struct io_uring_buf_reg flags */
enum io_uring_register_pbuf_ring_flags {
	IOU_PBUF_RING_MMAP = 1,
	IOU_PBUF_RING_INC = 2,
};

enum {
	IORING_MEM_REGION_TYPE_USER = 1,
};

struct io_sqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array,
		resv1;
	uint64_t user_addr;
};

struct io_cqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags,
		resv1;
	uint64_t user_addr;
};

struct io_uring_params {
	uint32_t sq_entries;
	uint32_t cq_entries;
	uint32_t flags;
	uint32_t sq_thread_cpu;
	uint32_t sq_thread_idle;
	uint32_t features;
	uint32_t wq_fd;
	uint32_t resv[3];
	struct io_sqring_offsets sq_off;
	struct io_cqring_offsets cq_off;
};

struct io_uring_rsrc_register {
	uint32_t nr;
	uint32_t flags;
	uint64_t resv2;
	uint64_t data __attribute__((aligned(8)));
	uint64_t tags __attribute__((aligned(8)));
};

struct io_uring_rsrc_update2 {
	uint32_t offset;
	uint32_t resv;
	uint64_t data __attribute__((aligned(8)));
	uint64_t tags __attribute__((aligned(8)));
	uint32_t nr;
	uint32_t resv2;
};

struct io_uring_clone_buffers {
	uint32_t src_fd;
	uint32_t flags;
	uint32_t src_off;
	uint32_t dst_off;
	uint32_t nr;
	uint32_t pad[3];
};

/* 6.18.y layout with min_left; the 6.18.0 layout is the same size with the
 * min_left word reserved (must be zero). */
struct io_uring_buf_reg {
	uint64_t ring_addr;
	uint32_t ring_entries;
	uint16_t bgid;
	uint16_t flags;
	uint32_t min_left;
	uint32_t resv[5];
};

struct io_uring_buf_status {
	uint32_t buf_group;
	uint32_t head;
	uint32_t resv[8];
};

struct io_uring_buf {
	uint64_t addr;
	uint32_t len;
	uint16_t bid;
	uint16_t resv;
};

struct io_uring_mem_region_reg {
	uint64_t region_uptr;
	uint64_t flags;
	uint64_t resv[2];
};

struct io_uring_region_desc {
	uint64_t user_addr;
	uint64_t size;
	uint32_t flags;
	uint32_t id;
	uint64_t mmap_offset;
	uint64_t resv[4];
};

struct io_uring_query_hdr {
	uint64_t next_entry;
	uint64_t query_data;
	uint32_t query_op;
	uint32_t size;
	int32_t result;
	uint32_t resv[3];
};

struct io_uring_query_opcode {
	uint32_t nr_request_opcodes;
	uint32_t nr_register_opcodes;
	uint64_t feature_flags;
	uint64_t ring_setup_flags;
	uint64_t enter_flags;
	uint64_t sqe_flags;
	uint32_t nr_query_opcodes;
	uint32_t pad;
};

#define IO_URING_OP_SUPPORTED (1U << 0)

struct io_uring_probe_op {
	uint8_t op;
	uint8_t resv;
	uint16_t flags; /* IO_URING_OP_SUPPORTED */
	uint32_t resv2;
};

struct io_uring_probe {
	uint8_t last_op;
	uint8_t ops_len;
	uint16_t resv;
	uint32_t resv2[3];
	struct io_uring_probe_op ops[];
};

_Static_assert(sizeof(struct io_uring_params) == 120, "params");
_Static_assert(sizeof(struct io_uring_rsrc_register) == 32, "rsrc_register");
_Static_assert(sizeof(struct io_uring_rsrc_update2) == 32, "rsrc_update2");
_Static_assert(sizeof(struct io_uring_clone_buffers) == 32, "clone_buffers");
_Static_assert(sizeof(struct io_uring_buf_reg) == 40, "buf_reg");
_Static_assert(sizeof(struct io_uring_buf_status) == 40, "buf_status");
_Static_assert(sizeof(struct io_uring_buf) == 16, "buf");
_Static_assert(sizeof(struct io_uring_mem_region_reg) == 32, "mem_region_reg");
_Static_assert(sizeof(struct io_uring_region_desc) == 64, "region_desc");
_Static_assert(sizeof(struct io_uring_query_hdr) == 40, "query_hdr");
_Static_assert(sizeof(struct io_uring_query_opcode) == 48, "query_opcode");
_Static_assert(sizeof(struct io_uring_probe) == 16, "probe");
#endif /* LINUX_IO_URING_H */

/* One past the highest io_uring_register(2) opcode regbuf knows. */
#define RB_REGISTER_NR_OPS 36

/* io_uring macros (each where the headers lack it) */
#ifndef IORING_SETUP_R_DISABLED
#define IORING_SETUP_R_DISABLED (1U << 6)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_FEAT_RSRC_TAGS
#define IORING_FEAT_RSRC_TAGS (1U << 10)
#endif
#ifndef IOSQE_BUFFER_SELECT
#define IOSQE_BUFFER_SELECT (1U << 5)
#endif
#ifndef IORING_CQE_F_BUFFER
#define IORING_CQE_F_BUFFER (1U << 0)
#endif
#ifndef IORING_CQE_F_MORE
#define IORING_CQE_F_MORE (1U << 1)
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE (1U << 4)
#endif
#ifndef IORING_CQE_BUFFER_SHIFT
#define IORING_CQE_BUFFER_SHIFT 16
#endif
#ifndef IORING_RECV_MULTISHOT
#define IORING_RECV_MULTISHOT (1U << 1)
#endif
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_RSRC_REGISTER_SPARSE
#define IORING_RSRC_REGISTER_SPARSE (1U << 0)
#endif
#ifndef IORING_OFF_PBUF_RING
#define IORING_OFF_PBUF_RING 0x80000000ULL
#endif
#ifndef IORING_OFF_PBUF_SHIFT
#define IORING_OFF_PBUF_SHIFT 16
#endif

/* Kernel limits regbuf plans with (6.18 io_uring/rsrc.c, kbuf.c): the
 * kernel's IORING_MAX_REG_BUFFERS, its 1 GiB cap per buffer (SZ_1G), and
 * from 7.2 up to INT_MAX / 8 pages per buffer (~1 TiB), where regbuf's
 * slots stop at a power of two below; the entries of a buffer ring. */
#define IORING_MAX_REG_BUFFERS (1U << 14)
#define RB_MAX_BUF_SIZE	       (1ULL << 30)
#define RB_MAX_LARGE_BUF_SIZE  (1ULL << 39)
#define RB_MAX_PBUF_ENTRIES    32768U

/* PAGEMAP_SCAN (6.7+), linux/fs.h */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED (1ULL << 0)
#define PAGE_IS_WRITTEN	  (1ULL << 1)
#define PAGE_IS_FILE	  (1ULL << 2)
#define PAGE_IS_PRESENT	  (1ULL << 3)
#define PAGE_IS_SWAPPED	  (1ULL << 4)
#define PAGE_IS_PFNZERO	  (1ULL << 5)
#define PAGE_IS_HUGE	  (1ULL << 6)

struct page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

struct pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
_Static_assert(sizeof(struct page_region) == 24, "page_region");
_Static_assert(sizeof(struct pm_scan_arg) == 96, "pm_scan_arg");
#endif

/* /proc/kpageflags bits, linux/kernel-page-flags.h */
#ifndef KPF_COMPOUND_HEAD
#define KPF_COMPOUND_HEAD 15
#define KPF_COMPOUND_TAIL 16
#define KPF_HUGE	  17
#define KPF_THP		  22
#endif

/* mmap and memfd_create hugetlb flags, linux/mman.h and linux/memfd.h */
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21U << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30U << MAP_HUGE_SHIFT)
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << MFD_HUGE_SHIFT)
#endif
#ifndef MFD_HUGE_1GB
#define MFD_HUGE_1GB (30U << MFD_HUGE_SHIFT)
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
/* mbind(2), linux/mempolicy.h (where MPOL_BIND is an enum: included
 * first, it is defined again here to the same value) */
#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif
#ifndef MPOL_MF_STRICT
#define MPOL_MF_STRICT (1U << 0)
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1U << 1)
#endif

#endif
