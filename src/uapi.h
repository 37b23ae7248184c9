/* SPDX-License-Identifier: MIT */
/*
 * Kernel interface constants and structures regbuf uses, under our own names
 * (prefix RB_ / rb_) so that this header never clashes with whatever
 * linux/io_uring.h or liburing the build machine has. Values follow the
 * Linux 6.18 uapi; struct sizes are checked below.
 */
#ifndef REGBUF_UAPI_H
#define REGBUF_UAPI_H

#include <stdint.h>
#include <sys/ioctl.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

/* io_uring_register(2) opcodes */
enum {
	RB_REGISTER_BUFFERS = 0,
	RB_UNREGISTER_BUFFERS = 1,
	RB_REGISTER_PROBE = 8,
	RB_REGISTER_BUFFERS2 = 15,
	RB_REGISTER_BUFFERS_UPDATE = 16,
	RB_REGISTER_PBUF_RING = 22,
	RB_UNREGISTER_PBUF_RING = 23,
	RB_REGISTER_PBUF_STATUS = 26,
	RB_REGISTER_CLONE_BUFFERS = 30,
	RB_REGISTER_MEM_REGION = 34,
	RB_REGISTER_QUERY = 35,
	RB_REGISTER_NR_OPS = 36, /* one past the highest opcode we know */
};

/* SQE opcodes */
enum {
	RB_OP_NOP = 0,
	RB_OP_READ_FIXED = 4,
	RB_OP_WRITE_FIXED = 5,
	RB_OP_READ = 22,
	RB_OP_WRITE = 23,
	RB_OP_RECV = 27,
	RB_OP_READV_FIXED = 60,
	RB_OP_WRITEV_FIXED = 61,
};

/* setup flags and features */
#define RB_SETUP_R_DISABLED    (1U << 6)
#define RB_SETUP_SINGLE_ISSUER (1U << 12)
#define RB_FEAT_RSRC_TAGS      (1U << 10)

/* sqe->flags, cqe->flags */
#define RB_IOSQE_BUFFER_SELECT (1U << 5)
#define RB_CQE_F_BUFFER	       (1U << 0)
#define RB_CQE_F_MORE	       (1U << 1)
#define RB_CQE_F_BUF_MORE      (1U << 4)
#define RB_CQE_BUFFER_SHIFT    16
/* sqe->ioprio of send/recv */
#define RB_RECV_MULTISHOT  (1U << 1)
#define RB_RECVSEND_BUNDLE (1U << 4)

/* registration flags */
#define RB_RSRC_REGISTER_SPARSE	   (1U << 0)
#define RB_REGISTER_SRC_REGISTERED (1U << 0)
#define RB_REGISTER_DST_REPLACE	   (1U << 1)
#define RB_PBUF_RING_MMAP	   1
#define RB_PBUF_RING_INC	   2
#define RB_MEM_REGION_TYPE_USER	   1
#define RB_OFF_PBUF_RING	   0x80000000ULL
#define RB_OFF_PBUF_SHIFT	   16

/* kernel limits (6.18 io_uring/rsrc.c, kbuf.c) */
#define RB_MAX_REG_BUFFERS (1U << 14)
#define RB_MAX_BUF_SIZE	   (1ULL << 30)
/* 7.2+: the kernel takes up to INT_MAX / 8 pages (~1 TiB); slots stop at a
 * power of two below that. */
#define RB_MAX_LARGE_BUF_SIZE (1ULL << 39)
#define RB_MAX_PBUF_ENTRIES   32768U

struct rb_io_sqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array,
		resv1;
	uint64_t user_addr;
};

struct rb_io_cqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags,
		resv1;
	uint64_t user_addr;
};

struct rb_io_uring_params {
	uint32_t sq_entries;
	uint32_t cq_entries;
	uint32_t flags;
	uint32_t sq_thread_cpu;
	uint32_t sq_thread_idle;
	uint32_t features;
	uint32_t wq_fd;
	uint32_t resv[3];
	struct rb_io_sqring_offsets sq_off;
	struct rb_io_cqring_offsets cq_off;
};

struct rb_rsrc_register {
	uint32_t nr;
	uint32_t flags;
	uint64_t resv2;
	uint64_t data __attribute__((aligned(8)));
	uint64_t tags __attribute__((aligned(8)));
};

struct rb_rsrc_update2 {
	uint32_t offset;
	uint32_t resv;
	uint64_t data __attribute__((aligned(8)));
	uint64_t tags __attribute__((aligned(8)));
	uint32_t nr;
	uint32_t resv2;
};

struct rb_clone_buffers {
	uint32_t src_fd;
	uint32_t flags;
	uint32_t src_off;
	uint32_t dst_off;
	uint32_t nr;
	uint32_t pad[3];
};

/* 6.18.y layout with min_left; the 6.18.0 layout is the same size with the
 * min_left word reserved (must be zero). */
struct rb_buf_reg {
	uint64_t ring_addr;
	uint32_t ring_entries;
	uint16_t bgid;
	uint16_t flags;
	uint32_t min_left;
	uint32_t resv[5];
};

struct rb_buf_status {
	uint32_t buf_group;
	uint32_t head;
	uint32_t resv[8];
};

struct rb_buf {
	uint64_t addr;
	uint32_t len;
	uint16_t bid;
	uint16_t resv;
};

struct rb_mem_region_reg {
	uint64_t region_uptr;
	uint64_t flags;
	uint64_t resv[2];
};

struct rb_region_desc {
	uint64_t user_addr;
	uint64_t size;
	uint32_t flags;
	uint32_t id;
	uint64_t mmap_offset;
	uint64_t resv[4];
};

struct rb_query_hdr {
	uint64_t next_entry;
	uint64_t query_data;
	uint32_t query_op;
	uint32_t size;
	int32_t result;
	uint32_t resv[3];
};

struct rb_query_opcode {
	uint32_t nr_request_opcodes;
	uint32_t nr_register_opcodes;
	uint64_t feature_flags;
	uint64_t ring_setup_flags;
	uint64_t enter_flags;
	uint64_t sqe_flags;
	uint32_t nr_query_opcodes;
	uint32_t pad;
};

struct rb_probe_op {
	uint8_t op;
	uint8_t resv;
	uint16_t flags; /* RB_PROBE_OP_SUPPORTED */
	uint32_t resv2;
};
#define RB_PROBE_OP_SUPPORTED 1U

struct rb_probe {
	uint8_t last_op;
	uint8_t ops_len;
	uint16_t resv;
	uint32_t resv2[3];
	struct rb_probe_op ops[];
};

/* PAGEMAP_SCAN (6.7+), linux/fs.h */
#define RB_PAGE_IS_WPALLOWED (1ULL << 0)
#define RB_PAGE_IS_WRITTEN   (1ULL << 1)
#define RB_PAGE_IS_FILE	     (1ULL << 2)
#define RB_PAGE_IS_PRESENT   (1ULL << 3)
#define RB_PAGE_IS_SWAPPED   (1ULL << 4)
#define RB_PAGE_IS_PFNZERO   (1ULL << 5)
#define RB_PAGE_IS_HUGE	     (1ULL << 6)

struct rb_page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

struct rb_pm_scan_arg {
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
#define RB_PAGEMAP_SCAN _IOWR('f', 16, struct rb_pm_scan_arg)

/* /proc/kpageflags bits */
#define RB_KPF_COMPOUND_HEAD 15
#define RB_KPF_COMPOUND_TAIL 16
#define RB_KPF_HUGE	     17
#define RB_KPF_THP	     22

/* mmap / memfd hugetlb flags */
#define RB_HUGE_SHIFT	       26
#define RB_MAP_HUGE_2MB	       (21U << RB_HUGE_SHIFT)
#define RB_MAP_HUGE_1GB	       (30U << RB_HUGE_SHIFT)
#define RB_MFD_CLOEXEC	       0x0001U
#define RB_MFD_ALLOW_SEALING   0x0002U
#define RB_MFD_HUGETLB	       0x0004U
#define RB_MFD_HUGE_2MB	       (21U << RB_HUGE_SHIFT)
#define RB_MFD_HUGE_1GB	       (30U << RB_HUGE_SHIFT)
#define RB_MADV_POPULATE_WRITE 23
#define RB_MPOL_BIND	       2
#define RB_MPOL_MF_STRICT      (1U << 0)
#define RB_MPOL_MF_MOVE	       (1U << 1)

_Static_assert(sizeof(struct rb_io_uring_params) == 120, "params");
_Static_assert(sizeof(struct rb_rsrc_register) == 32, "rsrc_register");
_Static_assert(sizeof(struct rb_rsrc_update2) == 32, "rsrc_update2");
_Static_assert(sizeof(struct rb_clone_buffers) == 32, "clone_buffers");
_Static_assert(sizeof(struct rb_buf_reg) == 40, "buf_reg");
_Static_assert(sizeof(struct rb_buf_status) == 40, "buf_status");
_Static_assert(sizeof(struct rb_buf) == 16, "buf");
_Static_assert(sizeof(struct rb_mem_region_reg) == 32, "mem_region_reg");
_Static_assert(sizeof(struct rb_region_desc) == 64, "region_desc");
_Static_assert(sizeof(struct rb_query_hdr) == 40, "query_hdr");
_Static_assert(sizeof(struct rb_query_opcode) == 48, "query_opcode");
_Static_assert(sizeof(struct rb_probe) == 16, "probe");
_Static_assert(sizeof(struct rb_page_region) == 24, "page_region");
_Static_assert(sizeof(struct rb_pm_scan_arg) == 96, "pm_scan_arg");

#endif
