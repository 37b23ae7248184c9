/* SPDX-License-Identifier: MIT */
#ifndef REGBUF_INTERNAL_H
#define REGBUF_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "regbuf.h"

#define RB_EXPORT	 __attribute__((visibility("default")))
#define RB_KIB		 (1ULL << 10)
#define RB_MIB		 (1ULL << 20)
#define RB_GIB		 (1ULL << 30)
#define RB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RB_MAX_CHUNKS	 8

static inline uint64_t rb_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline bool rb_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/*
 * A contract the code relies on ("the caller made room", "cannot
 * happen"): checked, and fatal with the condition and where, in a
 * REGBUF_DEBUG build; not even evaluated in others.
 */
#ifdef REGBUF_DEBUG
#define RB_ASSERT(cond) \
	((cond) ? (void)0 : rb_assert_fail(#cond, __FILE__, __LINE__))
#else
#define RB_ASSERT(cond) ((void)sizeof(cond))
#endif
void rb_assert_fail(const char *what, const char *file, int line)
	__attribute__((noreturn));
/* 1 in a REGBUF_DEBUG build (tests: invalid frees abort there). */
extern const int rb_debug_build;

/* error.c: record a one-line explanation and return err (negative). */
int rb_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rb_err_clear(void);
/* rb_err() for a caller that wraps a lower call's failure, unless the heap
 * failed since heap_mark (rb_heap_failures()): the lowest layer that knows
 * the cause writes the message, and heap.c's stands. */
int rb_err_above(unsigned long heap_mark, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append a line to a fixed notes buffer. */
void rb_note(char *notes, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#include "fmt.h" /* rb_fmt_size() */

/* heap.c: the library's heap, counted and failable like the system calls
 * (NULL, errno ENOMEM and the last error set on failure). */
void *rb_malloc(size_t len);
void *rb_calloc(size_t n, size_t len);
void *rb_realloc(void *p, size_t len);
void *rb_aligned_alloc(size_t align, size_t len);
/* How many of this thread's heap allocations have failed so far. */
unsigned long rb_heap_failures(void);

/* abi.c: the struct-size contract (see there). */
/* Read a caller's struct into dst (ksize bytes, ours): 0, -EINVAL, -E2BIG. */
int rb_struct_in(void *dst, size_t ksize, const void *src, const char *what);
/* The caller's size of a struct to be filled, or -EINVAL. */
int rb_struct_size(const void *user, const char *what);
/* Fill the caller's struct of usize bytes from ours (ksize bytes). */
void rb_struct_out(void *user, uint32_t usize, const void *src, size_t ksize);

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

/* folio.c (internal helpers beside the public map API) */
/* exact: use kpageflags when allowed (slow, sees mTHP); otherwise prefer
 * PAGEMAP_SCAN (fast; PMD-mapped huge or not). */
int rb_map_create(int pid, uint64_t addr, uint64_t len, bool exact,
		  struct regbuf_map **out);
/* Bytes of [addr, addr+len) mapped by huge (PMD/PUD) entries, or -errno. */
int64_t rb_huge_bytes(void *addr, uint64_t len);

/* Memory chunk provenance. */
enum rb_owner {
	RB_OWN_POOL = 1,   /* mapped by the pool: unmapped at destroy */
	RB_OWN_CALLER = 2, /* adopted: never unmapped by regbuf */
};

struct rb_chunk {
	uint64_t offset; /* from pool base */
	uint64_t len;
	uint64_t page_size;
	int32_t backing;
	uint32_t owner;
	bool populated;
	bool shared;
};

struct rb_slot {
	uint64_t offset;
	uint64_t len;
	uint64_t page_size;
	uint64_t bvecs;
	uint64_t charge;
	int32_t backing;
	bool registered;
};

struct rb_attachment {
	struct rb_attachment *next;
	int fd;
	ino_t ino;
	dev_t dev;
	unsigned first;
	unsigned nr;
	int method;
};

struct rb_alloc; /* alloc.c */

#define RB_POOL_MAGIC 0x72656762756670ULL /* "regbufp" */

struct regbuf_pool {
	uint64_t magic;
	uint8_t *base;
	uint64_t size;
	uint64_t requested;
	void *res_base; /* VA reservation unmapped at destroy (0 if none) */
	uint64_t res_len;
	uint32_t flags; /* REGBUF_POOL_* */
	uint32_t info_flags;
	int32_t numa_node;
	int memfd;
	int io_uring_errno;

	struct rb_chunk chunks[RB_MAX_CHUNKS];
	unsigned nr_chunks;

	struct rb_slot *slots;
	struct iovec *iov;
	unsigned nr_slots;
	unsigned nr_registered;
	uint64_t registered_bytes;
	uint64_t bvecs;
	uint64_t charge;
	uint64_t thp_huge_bytes;
	uint64_t populate_ns;
	uint64_t register_ns;

	pthread_mutex_t lock; /* attachments */
	struct rb_attachment *att;
	unsigned nr_attached;

	/* Growth: slots, iov and the allocator's tables are sized for
	 * slots_cap and max_size up front, so they never move. */
	pthread_mutex_t grow_lock;
	uint64_t max_size;
	uint64_t max_slot;
	unsigned slots_cap;
	/* Anchor rings, each holding the registration of slots [first,
	 * first + nr): the first registration, then one per growth. */
	struct rb_anchor {
		int fd;
		unsigned first, nr;
	} anchors[RB_MAX_CHUNKS + 1];
	unsigned nr_anchors;

	struct rb_alloc *alloc;
	/* GROWABLE: the pool's growth policy, called by the allocator when it
	 * has no room for len (pool.c); serves buf from the grown pool. */
	int (*grow_for)(struct regbuf_pool *p, size_t len, size_t align,
			struct regbuf_buf *buf);
	char notes[512];
};

/* size and nr_slots grow while other threads read them. */
static inline uint64_t rb_pool_size(const struct regbuf_pool *p)
{
	return __atomic_load_n(&p->size, __ATOMIC_ACQUIRE);
}

static inline unsigned rb_pool_nr_slots(const struct regbuf_pool *p)
{
	return __atomic_load_n(&p->nr_slots, __ATOMIC_ACQUIRE);
}

/* live.c: live pools, so that a destroyed pool is recognised without
 * reading its freed memory (unless its address was reused since). */
bool rb_pool_live(const struct regbuf_pool *p);
int rb_pool_live_add(struct regbuf_pool *p);
void rb_pool_live_del(const struct regbuf_pool *p);

static inline bool rb_pool_ok(const struct regbuf_pool *p)
{
	return p && rb_pool_live(p) && p->magic == RB_POOL_MAGIC;
}

/* The allocator's hot paths check the magic only. */
static inline bool rb_pool_ok_fast(const struct regbuf_pool *p)
{
	return p && p->magic == RB_POOL_MAGIC;
}

/* Index of the slot holding pool offset off (off < p->size). */
static inline unsigned rb_slot_of(const struct regbuf_pool *p, uint64_t off)
{
	unsigned lo = 0, hi = __atomic_load_n(&p->nr_slots, __ATOMIC_ACQUIRE);

	while (lo + 1 < hi) {
		unsigned mid = (lo + hi) / 2;

		if (p->slots[mid].offset <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* pool.c: test seam, called (when set) after each growth that the growth
 * policy makes and before it serves its own request, so a test can take
 * the new memory the way another thread could. */
extern void (*rb_grow_hook)(struct regbuf_pool *p);

/* backing.c */
int rb_backing_obtain(struct regbuf_pool *p, const struct regbuf_pool_opts *o);
int rb_backing_map_fd(struct regbuf_pool *p, int fd, uint64_t size,
		      uint64_t page_size, int backing);
int rb_backing_populate(struct regbuf_pool *p, unsigned threads,
			unsigned first_chunk);
/* Map len more bytes after the pool's end as one chunk; drop it again. */
int rb_backing_extend(struct regbuf_pool *p, uint64_t len);
void rb_backing_drop_last(struct regbuf_pool *p);
void rb_backing_release(struct regbuf_pool *p);

/* layout.c: slots of the pool from its chunks (and their folio maps). */
int rb_plan_pool(struct regbuf_pool *p, uint64_t max_slot);
/* PARTIAL: split the slot that crosses budget so its head fits; 1 if split. */
int rb_plan_fit_budget(struct regbuf_pool *p, uint64_t budget);
/* Plan chunks first_chunk.. into slots from nr_slots on (within slots_cap),
 * not yet published; returns how many. */
int rb_plan_append(struct regbuf_pool *p, unsigned first_chunk);

/* registry.c */
int rb_registry_register(struct regbuf_pool *p);
void rb_registry_teardown(struct regbuf_pool *p);
void rb_registry_prune(struct regbuf_pool *p);
/* Register slots [first, first + nr) on a new anchor and give them to every
 * attached ring; all or nothing. */
int rb_registry_grow(struct regbuf_pool *p, unsigned first, unsigned nr);
extern uint64_t rb_process_charge; /* bytes regbuf pinned in this process */

/* alloc.c */
int rb_alloc_init(struct regbuf_pool *p);
/* New slots [first, first + nr) become free memory and are published
 * (nr_slots). */
void rb_alloc_grow(struct regbuf_pool *p, unsigned first, unsigned nr);
void rb_alloc_fini(struct regbuf_pool *p);
/* Reserve a raw region in a registered slot (for bufrings): 0 / -ENOMEM. */
int rb_alloc_raw(struct regbuf_pool *p, size_t len, size_t align,
		 struct regbuf_buf *buf);

#endif
