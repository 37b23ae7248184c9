/* SPDX-License-Identifier: MIT */
/*
 * regbuf — registered I/O memory for io_uring.
 *
 * Conventions:
 *  - Every fallible call returns 0 (or a non-negative count / method) on
 *    success and a negative errno on failure; errno is never read.
 *  - On failure nothing is left behind: no mapping, no pinned page, no fd.
 *    A one-line explanation of the last failure of the calling thread is
 *    available from regbuf_last_error().
 *  - Every struct the library reads or fills that may grow starts with
 *    `uint32_t struct_size`: set it to sizeof the struct (the *_init helpers
 * and REGBUF_STRUCT_INIT do). A program built against older or newer headers
 * keeps working: a smaller struct is accepted and the fields it lacks take
 * their defaults; a larger one is accepted when the fields this library does
 * not know are zero (else -E2BIG). When the library fills a struct it fills
 * what both sides know, zeroes the caller's tail, and sets struct_size to the
 * bytes filled. Reserved fields must be zero.
 *  - The core API takes ring file descriptors, not liburing structs, so it
 *    works with any liburing version and with raw rings.
 */
#ifndef REGBUF_H
#define REGBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REGBUF_VERSION_MAJOR 0
#define REGBUF_VERSION_MINOR 1
#define REGBUF_VERSION_PATCH 0

/* The library's version string ("0.1.0"), as built. */
const char *regbuf_version(void);

/* Explanation of the last failed call made by this thread ("" if none). */
const char *regbuf_last_error(void);

/* Zero a struct and set its size: struct regbuf_pool_info i =
 * REGBUF_STRUCT_INIT(i); */
#define REGBUF_STRUCT_INIT(s)            \
	{                                \
		.struct_size = sizeof(s) \
	}

/* ------------------------------------------------------------------------ */
/* What the running kernel and machine support                              */
/* ------------------------------------------------------------------------ */

enum regbuf_io_uring_state {
	REGBUF_IO_URING_AVAILABLE = 0,
	REGBUF_IO_URING_DISABLED = 1, /* kernel.io_uring_disabled */
	/* seccomp / LSM refused io_uring_setup or io_uring_register */
	REGBUF_IO_URING_BLOCKED = 2,
	REGBUF_IO_URING_ABSENT = 3, /* ENOSYS: kernel without io_uring */
};

/* Feature bits, each found by a probe (coalesce: by kernel version). */
#define REGBUF_FEAT_SPARSE (1ULL << 0) /* BUFFERS2 + sparse tables */
#define REGBUF_FEAT_CLONE  (1ULL << 1) /* CLONE_BUFFERS (6.12) */
/* clone into a slot range: offsets + DST_REPLACE (6.13) */
#define REGBUF_FEAT_CLONE_RANGES (1ULL << 2)
#define REGBUF_FEAT_PBUF_RING	 (1ULL << 3)  /* provided-buffer rings (5.19) */
#define REGBUF_FEAT_PBUF_INC	 (1ULL << 4)  /* incremental rings (6.12) */
#define REGBUF_FEAT_MIN_LEFT	 (1ULL << 5)  /* min_left in buf_reg */
#define REGBUF_FEAT_MEM_REGION	 (1ULL << 6)  /* REGISTER_MEM_REGION (6.13) */
#define REGBUF_FEAT_QUERY	 (1ULL << 7)  /* REGISTER_QUERY (6.18) */
#define REGBUF_FEAT_RW_VEC_FIXED (1ULL << 8)  /* READV/WRITEV_FIXED (6.15) */
#define REGBUF_FEAT_COALESCE	 (1ULL << 9)  /* multi-hugepage bvecs (6.12) */
#define REGBUF_FEAT_PAGEMAP_SCAN (1ULL << 10) /* PAGEMAP_SCAN ioctl (6.7) */
/* Registered memory of a ring created with CAP_IPC_LOCK is not charged at
 * all, not even to VmPin (7.2); probed only when this process has it. */
#define REGBUF_FEAT_PRIV_UNACCOUNTED (1ULL << 11)
/* Buffers larger than 1 GiB are taken (7.2: up to ~1 TiB); slots then
 * default to 512 GiB. Probed by the error for a 1 TiB + 4 KiB buffer. */
#define REGBUF_FEAT_LARGE_BUFS (1ULL << 12)
/* A huge page is charged once per ring, whatever buffers share it: up to
 * 6.12 (each buffer sees the ones registered before it, even in the same
 * call) and from 7.2 (a per-ring count); 6.13 to 7.1 charge it again when
 * a buffer of the same call returns to it after another one. By version,
 * checked against VmPin by the suite on each kernel. */
#define REGBUF_FEAT_HPAGE_PER_RING (1ULL << 13)
/* 7.2's accounting: huge pages counted in a per-ring xarray, so no buffer
 * is rescanned for every huge folio (no ~100x "mixed" penalty), and a clone
 * into an accounted ring takes a reference per huge page of every buffer.
 * By version or the PRIV_UNACCOUNTED probe. */
#define REGBUF_FEAT_HPAGE_XARRAY (1ULL << 14)
/* Every ring's own memory (SQ/CQ ring, SQEs) is charged to its creator's
 * RLIMIT_MEMLOCK, unseen in VmPin (6.13 to 6.18 at least; not 7.2 or 7.3).
 * Probed by a ring made at RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK. */
#define REGBUF_FEAT_RING_MEMLOCK (1ULL << 15)
#define REGBUF_FEAT_NR		 16

struct regbuf_features {
	uint32_t struct_size;	/* sizeof(struct regbuf_features) */
	int32_t io_uring;	/* enum regbuf_io_uring_state */
	int32_t io_uring_errno; /* errno of io_uring_setup when not available */
	uint32_t reserved0;
	uint64_t features; /* REGBUF_FEAT_* */
	char kernel[65];   /* uname release */
	char why[191];	   /* one line when io_uring is not available */
};

/* Probe once (cached for the process) and fill *f. */
int regbuf_features_get(struct regbuf_features *f);
/* Short name of one feature bit ("clone", "pbuf_inc", ...), or NULL. */
const char *regbuf_feature_name(uint64_t bit);

struct regbuf_hugepage_count {
	uint64_t total, free, reserved, surplus;
};

struct regbuf_machine {
	uint32_t struct_size; /* sizeof(struct regbuf_machine) */
	uint32_t page_size;
	struct regbuf_hugepage_count huge_2m, huge_1g;
	char thp[16];		/* "always", "madvise", "never", "unknown" */
	uint64_t memlock_limit; /* bytes; UINT64_MAX = unlimited */
	int32_t cap_ipc_lock;	/* 1 if memlock is not enforced for us */
	int32_t numa_nodes;
	int32_t online_cpus;
	uint32_t reserved0;
	/* Bytes already charged to this user's memlock limit: the VmPin of
	 * every process of this real uid that /proc lets us read, plus
	 * memlock_rings (UINT64_MAX: /proc unreadable). */
	uint64_t memlock_used;
	/* What the next registration may charge: memlock_limit less
	 * memlock_used; UINT64_MAX when the limit is not enforced
	 * (unlimited, or CAP_IPC_LOCK). */
	uint64_t memlock_room;
	/* Where the kernel charges every ring's own SQ/CQ memory to the
	 * same limit without showing it in VmPin (REGBUF_FEAT_RING_MEMLOCK):
	 * an estimate of it over the user's nr_rings rings (from their
	 * mappings and fdinfo; 0 where rings are not charged, or when the
	 * limit is not enforced). */
	uint64_t memlock_rings;
	uint32_t nr_rings;
	uint32_t reserved1;
};

/* Read the machine's current state (not cached). */
int regbuf_machine_get(struct regbuf_machine *m);

/* ------------------------------------------------------------------------ */
/* Pools of I/O memory                                                      */
/* ------------------------------------------------------------------------ */

enum regbuf_backing {
	REGBUF_BACKING_AUTO = 0, /* 1G, then 2M hugetlb, then THP, then 4K */
	REGBUF_BACKING_HUGE_1G = 1,
	REGBUF_BACKING_HUGE_2M = 2,
	REGBUF_BACKING_THP = 3,
	REGBUF_BACKING_PAGES = 4,  /* 4 KiB pages */
	REGBUF_BACKING_CALLER = 5, /* adopted memory (regbuf_pool_adopt) */
	REGBUF_BACKING_NR
};

/* Short name of a backing ("auto", "1g", "2m", "thp", "4k", "caller"). */
const char *regbuf_backing_name(int backing);
/* Parse such a name; returns the backing or -EINVAL. */
int regbuf_backing_parse(const char *name);

#define REGBUF_POOL_STRICT	(1U << 0) /* fail rather than fall back */
#define REGBUF_POOL_SHARED	(1U << 1) /* memfd-backed, see regbuf_pool_fd */
#define REGBUF_POOL_NO_POPULATE (1U << 2) /* leave the memory untouched */
/* Register what RLIMIT_MEMLOCK allows, splitting the slot that crosses
 * the limit so that its head is registered; the rest is plain memory. */
#define REGBUF_POOL_PARTIAL	(1U << 3)
#define REGBUF_POOL_NO_REGISTER (1U << 4) /* memory only, no anchor ring */
/* Let fork() children inherit a copy of a private pool. By default the
 * memory is MADV_DONTFORK: the kernel would have to copy every pinned page
 * into the child at fork time (1 GiB of hugepages for a 1 GiB pool, or
 * ENOMEM when none are free). SHARED pools are always inherited, shared. */
#define REGBUF_POOL_FORK_COPY (1U << 5)
/* The pool may grow up to opts->max_size: regbuf_pool_grow() adds a
 * registered chunk (attached rings receive its slots), and regbuf_alloc()
 * grows the pool by itself instead of failing with -ENOMEM, by at least its
 * current size (at most 8 chunks in all). Not with SHARED or PARTIAL. */
#define REGBUF_POOL_GROWABLE  (1U << 6)
#define REGBUF_POOL_FLAGS_ALL (0x7fU)

struct regbuf_pool_opts {
	uint32_t struct_size; /* sizeof(struct regbuf_pool_opts) */
	uint32_t flags;	      /* REGBUF_POOL_* */
	uint64_t size;	      /* bytes; rounded up to the page size chosen */
	int32_t backing;      /* enum regbuf_backing */
	int32_t numa_node;    /* -1: any node */
	uint32_t populate_threads; /* 0: one per online CPU; at most 1024 */
	uint32_t reserved0;
	uint64_t max_slot_size; /* 0: the largest buffer the kernel takes,
				   1 GiB (512 GiB with LARGE_BUFS) */
	uint64_t max_size;	/* GROWABLE: most bytes the pool may reach */
	uint64_t reserved[3];
};

/* Fill *opts with defaults: AUTO backing, any node, populate. */
void regbuf_pool_opts_init(struct regbuf_pool_opts *opts);

struct regbuf_pool;

/*
 * Create a pool: obtain, populate and register memory on a private anchor
 * ring. Returns 0 and *out, or -errno:
 *  -EINVAL  bad options (size 0, unknown flags/backing, reserved fields);
 *  -EOVERFLOW size too large to map;
 *  -ENOMEM  memory, hugepages (STRICT) or RLIMIT_MEMLOCK short;
 *  -EPERM/-ENOSYS io_uring refused and the pool could not degrade.
 * When io_uring is unavailable the pool is created unregistered (memory
 * only) and regbuf_pool_info() says why.
 */
int regbuf_pool_create(const struct regbuf_pool_opts *opts,
		       struct regbuf_pool **out);

/*
 * Register caller-owned memory like a pool. regbuf never unmaps it. opts may
 * be NULL; its size and backing are ignored.
 */
int regbuf_pool_adopt(void *addr, size_t len,
		      const struct regbuf_pool_opts *opts,
		      struct regbuf_pool **out);

/* The memfd of a SHARED pool (owned by the pool), or -EINVAL. */
int regbuf_pool_fd(const struct regbuf_pool *pool);

/* Map the memfd of another process's SHARED pool and register it here. */
int regbuf_pool_import(int fd, const struct regbuf_pool_opts *opts,
		       struct regbuf_pool **out);

/*
 * Destroy a pool. Rings still attached and still open have the pool's
 * slots emptied first, so no ring is left pointing at memory that is about
 * to be unmapped; I/O already in flight keeps its pages pinned until it
 * completes (the kernel holds them).
 */
void regbuf_pool_destroy(struct regbuf_pool *pool);

void *regbuf_pool_base(const struct regbuf_pool *pool);
size_t regbuf_pool_size(const struct regbuf_pool *pool);

#define REGBUF_INFO_REGISTERED (1U << 0) /* all slots registered */
/* PARTIAL pool with slots left unregistered (nr_registered_slots may be
 * 0 when memlock left no room; the notes say why) */
#define REGBUF_INFO_PARTIAL   (1U << 1)
#define REGBUF_INFO_SHARED    (1U << 2)
#define REGBUF_INFO_ADOPTED   (1U << 3)
#define REGBUF_INFO_IMPORTED  (1U << 4)
#define REGBUF_INFO_POPULATED (1U << 5)

struct regbuf_pool_info {
	uint32_t struct_size; /* sizeof(struct regbuf_pool_info) */
	uint32_t flags;	      /* REGBUF_INFO_* */
	uint64_t size;	      /* usable bytes */
	uint64_t requested_size;
	int32_t backing;	/* backing of the largest chunk */
	int32_t io_uring_errno; /* why nothing is registered, or 0 */
	uint32_t nr_chunks;
	uint32_t nr_slots;
	uint32_t nr_registered_slots;
	uint32_t nr_attached;
	uint64_t registered_bytes;
	uint64_t predicted_bvecs; /* bio_vecs the kernel builds */
	uint64_t memlock_charge;  /* bytes charged to RLIMIT_MEMLOCK */
	uint64_t thp_huge_bytes;  /* THP chunks: bytes that came back huge */
	uint64_t populate_ns;
	uint64_t register_ns;
	int32_t numa_node;
	uint32_t reserved0;
	char notes[512]; /* fallbacks and their reasons, one per line */
	/* What attaching one more ring costs on this kernel, for rings this
	 * process creates now (enum regbuf_attach_cost), and in how many
	 * units (slots, bio_vecs or 4 KiB pages). */
	int32_t attach_cost;
	uint32_t reserved1;
	uint64_t attach_cost_units;
};

int regbuf_pool_info(struct regbuf_pool *pool, struct regbuf_pool_info *info);

struct regbuf_slot_info {
	uint32_t struct_size; /* sizeof(struct regbuf_slot_info) */
	uint32_t reserved0;
	uint64_t offset; /* from the pool base */
	uint64_t len;
	int32_t backing;
	uint32_t registered; /* 1 if in the anchor table */
	uint64_t page_size;
	uint64_t bvecs;	 /* predicted bio_vecs */
	uint64_t charge; /* predicted memlock charge, bytes */
};

/*
 * Add at least len bytes to a GROWABLE pool: a new chunk after the current
 * end (same backing when the machine has it, with the usual fallback),
 * populated, planned, registered on an anchor ring of its own, and given
 * to every attached ring at the slots following the pool's (clone with
 * ranges, or registering into the ring's table when it has room). Existing
 * buffers and addresses do not move. Returns the index of the first new
 * slot, or -errno with nothing changed: -EINVAL not GROWABLE or len 0,
 * -ENOSPC beyond max_size / 16384 slots / 8 chunks, or an attached ring
 * that cannot take the slots, -ENOMEM no memory or memlock.
 */
int regbuf_pool_grow(struct regbuf_pool *pool, size_t len);

/* Describe slot idx (0 .. nr_slots-1). */
int regbuf_pool_slot(const struct regbuf_pool *pool, unsigned idx,
		     struct regbuf_slot_info *slot);

/* The slot holding addr: returns its index and describes it, or -EFAULT
 * when addr is not inside the pool. */
int regbuf_pool_slot_of(const struct regbuf_pool *pool, const void *addr,
			struct regbuf_slot_info *slot);

/*
 * The registered slot that holds every byte of the nr iovecs, as one fixed
 * I/O (READ_FIXED, READV_FIXED) needs: its index, or -EXDEV when they lie
 * in more than one slot or in memory the pool left unregistered (PARTIAL,
 * no io_uring), -EFAULT when one is outside the pool or empty, -EINVAL.
 * Lock-free: meant for every I/O.
 */
int regbuf_pool_iov_slot(const struct regbuf_pool *pool,
			 const struct iovec *iov, unsigned nr);

enum regbuf_attach_method {
	REGBUF_ATTACH_CLONE_RANGE = 1, /* clone into a slot range (6.13+) */
	REGBUF_ATTACH_CLONE = 2,       /* whole-table clone (6.12) */
	REGBUF_ATTACH_REGISTER = 3,    /* registered again: pins and charges */
};

const char *regbuf_attach_method_name(int method);

/* What one more attach costs: the kernel's work per ring. */
enum regbuf_attach_cost {
	REGBUF_ATTACH_COST_NONE = 0,	 /* nothing registered */
	REGBUF_ATTACH_COST_PER_SLOT = 1, /* clone: one reference per slot */
	REGBUF_ATTACH_COST_PER_BVEC = 2, /* clone into an accounted ring on
					    7.2+: one accounting reference
					    per bio_vec (per huge page when
					    coalesced, per 4 KiB page else) */
	REGBUF_ATTACH_COST_REGISTER = 3, /* no clone: pin every page again */
};

/* The attach cost class for a ring this process creates now, with every
 * slot registered. */
int regbuf_attach_cost_class(void);
/* "none", "per_slot", "per_bvec", "register", or "?". */
const char *regbuf_attach_cost_name(int cost);

/*
 * Put the pool's registered slots into ring_fd's buffer table starting at
 * first_slot (slot i of the pool becomes buf_index first_slot + i). Other
 * slots of the ring are kept. Returns the method used (> 0) or -errno:
 *  -EBADF   ring_fd is not open;     -EOPNOTSUPP not an io_uring;
 *  -EEXIST  the ring already holds this pool;
 *  -EINVAL  first_slot + slots > 16384, or the pool is not registered;
 *  -ENOSPC  the ring's table is too small and cannot be grown here.
 */
int regbuf_pool_attach(struct regbuf_pool *pool, int ring_fd,
		       unsigned first_slot);

/* Empty exactly the pool's slots in ring_fd; -ENOENT if never attached. */
int regbuf_pool_detach(struct regbuf_pool *pool, int ring_fd);

/* ------------------------------------------------------------------------ */
/* Fixed buffers                                                            */
/* ------------------------------------------------------------------------ */

#define REGBUF_SLOT_NONE (-1) /* memory not registered: use plain I/O */

struct regbuf_buf {
	void *addr;
	size_t len;
	int32_t slot; /* sqe->buf_index (ring slot = first_slot + slot) */
	uint16_t bid; /* buffer-ring id (bufring buffers only) */
	uint16_t flags;
	uint64_t cookie; /* private: identifies the allocation */
};

/*
 * Allocate len bytes aligned to align (0: 4096; any power of two up to
 * 2 MiB). The buffer never crosses a slot. Thread-safe. Returns 0, or
 * -EINVAL: len 0 or longer than the pool's largest slot (GROWABLE: than
 * max_slot_size capped by max_size), a bad align, a bad pool or buf;
 * -ENOMEM: no room for it now (pool exhausted).
 */
int regbuf_alloc(struct regbuf_pool *pool, size_t len, size_t align,
		 struct regbuf_buf *buf);

/*
 * Give a buffer back. Double frees, foreign or forged handles, and stale
 * copies of a handle whose buffer was freed (and perhaps handed out again)
 * return -EINVAL and change nothing (abort when the library is built with
 * REGBUF_DEBUG).
 */
int regbuf_free(struct regbuf_pool *pool, struct regbuf_buf *buf);

#define REGBUF_NR_CLASSES 16

struct regbuf_alloc_stats {
	uint32_t struct_size; /* sizeof(struct regbuf_alloc_stats) */
	uint32_t reserved0;
	uint64_t bytes_in_use; /* bytes handed out (rounded sizes) */
	uint64_t peak_bytes;
	uint64_t requested_bytes; /* bytes asked for, in use */
	uint64_t nr_allocs, nr_frees, nr_failed, nr_bad_frees;
	uint64_t class_size[REGBUF_NR_CLASSES];
	uint64_t class_in_use[REGBUF_NR_CLASSES];
	uint64_t large_in_use; /* buffers above the largest class */
	uint64_t fixed_allocs, fallback_allocs; /* registered vs not */
};

int regbuf_alloc_stats(struct regbuf_pool *pool, struct regbuf_alloc_stats *st);

/* ------------------------------------------------------------------------ */
/* Folio maps and registration prediction                                   */
/* ------------------------------------------------------------------------ */

enum regbuf_map_source {
	REGBUF_SRC_KPAGEFLAGS = 1, /* pagemap + kpageflags: exact folios */
	REGBUF_SRC_PAGEMAP_SCAN = 2,
	REGBUF_SRC_SMAPS = 3,
};

enum regbuf_run_kind {
	REGBUF_RUN_ABSENT = 0, /* mapped but not present */
	REGBUF_RUN_4K = 1,
	REGBUF_RUN_THP = 2, /* anonymous large folio (PMD THP or mTHP) */
	REGBUF_RUN_HUGETLB = 3,
	REGBUF_RUN_UNMAPPED = 4,
};

#define REGBUF_RUN_RO	       (1U << 0) /* no PROT_WRITE */
#define REGBUF_RUN_SHARED_FILE (1U << 1) /* MAP_SHARED of a writeback file */
#define REGBUF_RUN_PHYS_CONTIG (1U << 2) /* physically contiguous (exact) */
#define REGBUF_RUN_FILE	       (1U << 3) /* file-backed (private or tmpfs) */
#define REGBUF_RUN_SHMEM       (1U << 4)

struct regbuf_run {
	uint64_t start;
	uint64_t len;
	uint32_t kind;	     /* enum regbuf_run_kind */
	uint32_t flags;	     /* REGBUF_RUN_* */
	uint64_t folio_size; /* bytes (4096 for 4K), 0 unknown */
};

struct regbuf_map {
	int32_t source; /* enum regbuf_map_source */
	int32_t pid;	/* 0 = this process */
	uint64_t addr, len;
	uint32_t nr_runs;
	uint32_t reserved0;
	struct regbuf_run *runs;
};

const char *regbuf_map_source_name(int source);
const char *regbuf_run_kind_name(int kind);

/*
 * Build the folio map of [addr, addr+len) of process pid (0: self), from
 * the best source available. -ESRCH no such process; -EACCES not allowed
 * to read it; -EFAULT part of the range is not mapped (the first such
 * address is in regbuf_last_error()).
 */
int regbuf_map_create(int pid, uint64_t addr, uint64_t len,
		      struct regbuf_map **out);
void regbuf_map_destroy(struct regbuf_map *map);

enum regbuf_cost_class {
	REGBUF_COST_FAST = 0,	  /* one bio_vec per huge folio */
	REGBUF_COST_PER_PAGE = 1, /* one bio_vec per 4 KiB page */
	REGBUF_COST_MIXED = 2,	  /* mixed folio sizes: the ~100x pathology */
	REGBUF_COST_FAULT = 3,	  /* pages not present: faulted inside GUP */
	REGBUF_COST_REFUSED = 4,  /* the kernel will refuse it */
};

const char *regbuf_cost_class_name(int cost);

struct regbuf_prediction {
	uint32_t coalesced;  /* 1 if stored as one bvec per folio */
	int32_t cost_class;  /* enum regbuf_cost_class */
	uint64_t bvecs;	     /* bio_vecs */
	uint64_t meta_bytes; /* kernel descriptor + bvec array */
	uint64_t charge;     /* memlock bytes */
	char why[160];	     /* one sentence */
};

/*
 * Predict what the kernel (>= 6.12 coalescing rules unless the running
 * kernel lacks them) does when the nr buffers are registered in one call.
 * Buffers must lie inside the map. out has nr entries.
 */
int regbuf_predict(const struct regbuf_map *map, const struct iovec *bufs,
		   unsigned nr, struct regbuf_prediction *out);

struct regbuf_plan_slot {
	uint64_t offset; /* from map->addr */
	uint64_t len;
	int32_t kind;
	uint32_t reserved0;
	uint64_t folio_size;
	uint64_t bvecs;
	uint64_t charge;
};

/*
 * Lay out the map in slots regbuf would register: split where the folio
 * size changes, at most max_slot (0: 1 GiB) per slot, at most 16384 slots.
 * Returns the number of slots (<= max_out filled) or -errno: -EFAULT with a
 * reason in regbuf_last_error() when part of the range cannot be registered.
 */
int regbuf_plan(const struct regbuf_map *map, uint64_t max_slot,
		struct regbuf_plan_slot *slots, unsigned max_out);

/* ---- Managed provided-buffer rings ------------------------------------ */

/*
 * A provided-buffer ring (for receives and buffer-select reads) whose
 * buffers are carved from the pool's registered slots, so every received
 * buffer is also a fixed buffer: WRITE_FIXED or SEND_ZC it without a copy.
 * A bufring is used by one thread at a time (like the ring it belongs to);
 * destroy it before its pool.
 */
struct regbuf_bufring;

/* incremental consumption (6.12+), a plain ring where the kernel lacks it */
#define REGBUF_BUFRING_INC (1U << 0)
/* with INC: -EOPNOTSUPP instead of a plain ring, and for min_left where it
 * is unsupported */
#define REGBUF_BUFRING_REQUIRE_INC (1U << 1)
/* on ENOBUFS add a group of nbufs more buffers (bgid + 1, ...) up to
 * max_groups */
#define REGBUF_BUFRING_GROW (1U << 2)

struct regbuf_bufring_opts {
	uint32_t struct_size; /* sizeof(struct regbuf_bufring_opts) */
	uint32_t flags;	      /* REGBUF_BUFRING_* */
	uint32_t nbufs;	      /* per group: a power of two, 1 .. 32768 */
	uint32_t buf_size;    /* bytes per buffer, 1 .. the pool's slot size */
	uint16_t bgid;	      /* first buffer group id */
	uint16_t max_groups;  /* with GROW: most groups (0: 2); nbufs times
				 max_groups must stay <= 65536 (16-bit bids) */
	uint32_t min_left;    /* INC: retire a buffer once fewer bytes would
				 remain (kernels with min_left; 0: off) */
	uint32_t reserved[4];
};

void regbuf_bufring_opts_init(struct regbuf_bufring_opts *opts);

/*
 * Register a buffer group on ring_fd with nbufs buffers of buf_size bytes
 * from the pool, all handed to the kernel. The ring's own entries come from
 * the pool too (when it has no page left: from the kernel on 6.4+, from a
 * page regbuf maps itself before).
 * -EINVAL bad arguments; -EEXIST bgid already in use on that ring;
 * -EOPNOTSUPP no buffer rings here (or INC with REQUIRE_INC); -ENOMEM pool
 * too small; -EBADF ring_fd not an io_uring. Nothing is left behind.
 */
int regbuf_bufring_create(struct regbuf_pool *pool, int ring_fd, uint16_t bgid,
			  uint32_t nbufs, uint32_t buf_size, uint32_t flags,
			  struct regbuf_bufring **out);
int regbuf_bufring_create_opts(struct regbuf_pool *pool, int ring_fd,
			       const struct regbuf_bufring_opts *opts,
			       struct regbuf_bufring **out);

/* The group id to put in sqe->buf_group for the next receive: the group
 * with the most buffers in the kernel. */
int regbuf_bufring_bgid(const struct regbuf_bufring *br);

#define REGBUF_BUF_RING (1U << 0) /* handle from a bufring */
/* incremental: the kernel keeps filling this buffer; later pieces follow
 * this one's end */
#define REGBUF_BUF_MORE (1U << 1)

/*
 * Take what a CQE of a buffer-select request delivered. Returns the number
 * of buffer handles written (1 for a plain receive; with a bundle up to max,
 * one per buffer), 0 when the CQE carries no buffer (res 0 at end of
 * stream), or -errno: the CQE's own error (-ENOBUFS counts as running dry
 * and, with GROW, adds a group before it returns), -EINVAL when the CQE's
 * buffer id is not one this bufring has in the kernel, -EMSGSIZE when a
 * bundle needs more than max handles (nothing taken).
 * Each handle's addr/len is the data received; slot is its pool slot.
 */
int regbuf_bufring_take(struct regbuf_bufring *br, int32_t res,
			uint32_t cqe_flags, struct regbuf_buf *bufs,
			unsigned max);

/*
 * Give a taken handle back, in any order, whenever the application is done
 * with it (e.g. after a WRITE_FIXED of it completes). The buffer returns to
 * the kernel once all pieces of it are recycled and the kernel is done
 * with it. -EINVAL for a handle this bufring did not hand out or one
 * already recycled.
 */
int regbuf_bufring_recycle(struct regbuf_bufring *br, struct regbuf_buf *buf);

struct regbuf_bufring_stats {
	uint32_t struct_size; /* sizeof(struct regbuf_bufring_stats) */
	uint32_t flags;	      /* REGBUF_BUFRING_INC if incremental is in use */
	uint32_t min_left;    /* in use (0: none) */
	uint32_t buf_size;
	uint32_t nbufs; /* all groups */
	uint32_t groups;
	uint32_t first_bgid;
	uint32_t ring_in_pool; /* 1: ring entries live in the pool */
	uint32_t in_kernel;    /* buffers the kernel may fill now */
	uint32_t held;	       /* buffers the application holds */
	uint64_t taken;	       /* handles returned by take */
	uint64_t recycled;     /* handles given back */
	uint64_t bytes;	       /* bytes received */
	uint64_t dry;	       /* ENOBUFS completions seen */
	uint64_t grows;	       /* groups added on ENOBUFS */
	uint64_t grow_failures;
};

int regbuf_bufring_stats(const struct regbuf_bufring *br,
			 struct regbuf_bufring_stats *st);

/*
 * Unregister every group and return all memory to the pool. Handles still
 * held become invalid (their memory goes back to the pool): cancel or reap
 * in-flight receives first. Safe after the ring was closed. Returns 0 or
 * the first unregister error other than "ring gone".
 */
int regbuf_bufring_destroy(struct regbuf_bufring *br);

#ifdef __cplusplus
}
#endif
#endif
