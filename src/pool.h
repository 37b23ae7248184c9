/* SPDX-License-Identifier: MIT */
/*
 * The pool object and the layers that build it: its memory (backing.c),
 * its slots (layout.c), its registration and attachments (registry.c),
 * the live-pool list (live.c). The public pool API (pool.c) sits above
 * these and the allocator.
 */
#ifndef REGBUF_POOL_H
#define REGBUF_POOL_H

#include "folio.h"

#define RB_MAX_CHUNKS 8

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
	/* GROWABLE: the pool's growth policy (pool.c), called by the
	 * allocator when it has no room for len; serves buf from the grown
	 * pool. The library's one upward call: the allocator sits below the
	 * pool API, which drives growth and publishes the new slots. */
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
/* What registrations may charge now: RLIMIT_MEMLOCK, what is charged to
 * the user already, and the room left for slots beside an anchor ring's own
 * memory (UINT64_MAX where the limit is not enforced). */
struct rb_budget {
	uint64_t limit, used, room;
	/* of used: the estimated own memory of the user's nr_rings rings */
	uint64_t rings;
	unsigned nr_rings;
	bool enforced;
};
void rb_registry_budget(struct rb_budget *b);
/* Register the slots (those that fit the budget, for a PARTIAL pool, which
 * fitted its layout to the budget first) on the pool's anchor ring. The
 * layout is not changed here. */
int rb_registry_register(struct regbuf_pool *p, const struct rb_budget *b);
void rb_registry_teardown(struct regbuf_pool *p);
void rb_registry_prune(struct regbuf_pool *p);
/* Register slots [first, first + nr) on a new anchor and give them to every
 * attached ring; all or nothing. */
int rb_registry_grow(struct regbuf_pool *p, unsigned first, unsigned nr);
extern uint64_t rb_process_charge; /* bytes regbuf pinned in this process */

#endif
