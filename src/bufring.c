/* SPDX-License-Identifier: MIT */
/*
 * Managed provided-buffer rings whose buffers live in the pool's registered
 * slots: a received buffer is also a fixed buffer.
 *
 * Bookkeeping per buffer id (16-bit, unique across the bufring's groups:
 * group g owns ids g*nbufs .. g*nbufs + nbufs - 1, so a CQE, which names a
 * bid but not its group, is unambiguous):
 *  - in_kernel: posted in its group's ring and not yet retired by the
 *    kernel; in incremental mode a buffer stays in the kernel while CQEs
 *    carry IORING_CQE_F_BUF_MORE;
 *  - consumed: incremental mode, bytes the kernel has filled so far;
 *  - refs: pieces handed to the application and not yet recycled;
 *  - pos: the ring position it was posted at (bundles continue there).
 * A buffer is posted again when the kernel is done with it and refs is 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "alloc.h"
#include "sys.h"
#include "uapi.h"

#define BR_MAGIC      0x62756672696e67ULL /* "bufring" */
#define BR_MAX_GROUPS 64

struct br_entry { /* struct io_uring_buf */
	uint64_t addr;
	uint32_t len;
	uint16_t bid;
	uint16_t resv; /* entry 0: the tail */
};

struct br_bid {
	uint8_t *addr;
	int32_t slot;
	uint32_t consumed;
	uint16_t refs;
	uint16_t pos;
	bool in_kernel;
};

struct br_group {
	struct br_entry *ring;
	struct regbuf_buf ring_mem; /* from the pool (len 0: kernel mmap) */
	size_t ring_bytes;
	uint16_t bgid;
	uint16_t tail;
	uint32_t in_kernel;
	bool registered;
};

struct regbuf_bufring {
	uint64_t magic;
	struct regbuf_pool *pool;
	int ring_fd;
	uint32_t flags; /* as asked */
	bool inc;	/* in use */
	uint32_t min_left;
	uint32_t nbufs; /* per group */
	uint32_t buf_size;
	uint32_t max_groups;
	uint32_t nr_groups;
	uint32_t tag;
	struct br_group groups[BR_MAX_GROUPS];
	struct br_bid *bids;	   /* max_groups * nbufs */
	struct regbuf_buf *blocks; /* pool allocations holding the buffers */
	unsigned nr_blocks, cap_blocks;
	struct regbuf_bufring_stats st;
};

static uint32_t br_next_tag = 1;

/*
 * Where the kernel's head of a buffer group starts. A fresh group starts at
 * 0, but some kernels (6.1 seen) keep the head of a low group id across
 * unregister and register on the same ring. With IORING_REGISTER_PBUF_STATUS
 * (6.8+) the head is read from the kernel; before that, regbuf remembers the
 * head its own bufrings left behind, per ring and group id.
 */
#define HEADS 256
static pthread_mutex_t heads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct head_mark {
	dev_t dev;
	ino_t ino;
	uint16_t bgid;
	uint16_t head;
	bool used;
} heads[HEADS];
static unsigned heads_next;

static struct head_mark *head_find(const struct stat *st, uint16_t bgid)
{
	for (unsigned i = 0; i < HEADS; i++)
		if (heads[i].used && heads[i].dev == st->st_dev &&
		    heads[i].ino == st->st_ino && heads[i].bgid == bgid)
			return &heads[i];
	return NULL;
}

static uint16_t head_start(int ring_fd, uint16_t bgid)
{
	struct io_uring_buf_status bs = {.buf_group = bgid};
	struct head_mark *m;
	struct stat st;
	uint16_t head = 0;

	if (!rb_uring_register(ring_fd, IORING_REGISTER_PBUF_STATUS, &bs, 1))
		return (uint16_t)bs.head;
	if (rb_fstat(ring_fd, &st))
		return 0;
	pthread_mutex_lock(&heads_lock);
	m = head_find(&st, bgid);
	if (m)
		head = m->head;
	pthread_mutex_unlock(&heads_lock);
	return head;
}

static void head_remember(int ring_fd, uint16_t bgid, uint16_t head)
{
	struct head_mark *m;
	struct stat st;

	if (rb_fstat(ring_fd, &st))
		return;
	pthread_mutex_lock(&heads_lock);
	m = head_find(&st, bgid);
	if (!m) {
		m = &heads[heads_next++ % HEADS];
		*m = (struct head_mark){.dev = st.st_dev,
					.ino = st.st_ino,
					.bgid = bgid,
					.used = true};
	}
	m->head = head;
	pthread_mutex_unlock(&heads_lock);
}

RB_EXPORT void regbuf_bufring_opts_init(struct regbuf_bufring_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->struct_size = sizeof(*o);
	o->max_groups = 2;
}

static bool br_ok(const struct regbuf_bufring *br)
{
	return br && br->magic == BR_MAGIC;
}

static void publish_tail(struct br_group *g)
{
	__atomic_store_n(&g->ring[0].resv, g->tail, __ATOMIC_RELEASE);
}

static void give_to_kernel(struct regbuf_bufring *br, uint32_t bid)
{
	struct br_group *g = &br->groups[bid / br->nbufs];
	struct br_entry *e = &g->ring[g->tail & (br->nbufs - 1)];
	struct br_bid *b = &br->bids[bid];

	e->addr = (uint64_t)(uintptr_t)b->addr;
	e->len = br->buf_size;
	e->bid = (uint16_t)bid;
	b->pos = g->tail++;
	b->consumed = 0;
	b->in_kernel = true;
	g->in_kernel++;
}

/* Carve nbufs buffers for group gi from the pool, in as few blocks as the
 * pool's slots allow (a block never crosses a slot). */
static int carve(struct regbuf_bufring *br, unsigned gi)
{
	uint32_t done = 0, per = br->nbufs;
	uint64_t max = RB_MAX_BUF_SIZE / br->buf_size;

	if (per > max)
		per = (uint32_t)max;
	while (done < br->nbufs) {
		struct regbuf_buf blk;
		uint32_t n = per < br->nbufs - done ? per : br->nbufs - done;
		int ret = regbuf_alloc(br->pool, (size_t)n * br->buf_size, 4096,
				       &blk);

		if (ret == -ENOMEM && per > 1) {
			per /= 2;
			continue;
		}
		if (ret)
			return -ENOMEM;
		if (br->nr_blocks == br->cap_blocks) {
			unsigned c = br->cap_blocks ? br->cap_blocks * 2 : 8;
			struct regbuf_buf *nb =
				rb_realloc(br->blocks, c * sizeof(*nb));

			if (!nb) {
				regbuf_free(br->pool, &blk);
				return -ENOMEM;
			}
			br->blocks = nb;
			br->cap_blocks = c;
		}
		br->blocks[br->nr_blocks++] = blk;
		for (uint32_t i = 0; i < n; i++) {
			struct br_bid *b = &br->bids[gi * br->nbufs + done + i];

			b->addr =
				(uint8_t *)blk.addr + (size_t)i * br->buf_size;
			b->slot = blk.slot;
		}
		done += n;
	}
	return 0;
}

/* Ring entries: a page-aligned piece of the pool; when the pool is full,
 * kernel pages (IOU_PBUF_RING_MMAP, 6.4+) or, before 6.4, pages of our
 * own. */
static int ring_memory(struct regbuf_bufring *br, struct br_group *g,
		       struct io_uring_buf_reg *reg)
{
	g->ring_bytes = rb_align_up(
		(uint64_t)br->nbufs * sizeof(struct br_entry), 4096);
	if (!regbuf_alloc(br->pool, g->ring_bytes, 4096, &g->ring_mem)) {
		g->ring = g->ring_mem.addr;
		memset(g->ring, 0, g->ring_bytes);
		reg->ring_addr = (uint64_t)(uintptr_t)g->ring;
		return 0;
	}
	memset(&g->ring_mem, 0, sizeof(g->ring_mem));
	if (rb_kernel_version() >= 6004) {
		reg->flags |= IOU_PBUF_RING_MMAP;
		return 0;
	}
	{
		void *m;
		int ret = rb_mmap(
			&m, NULL, g->ring_bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (ret)
			return ret;
		g->ring = m;
		reg->ring_addr = (uint64_t)(uintptr_t)m;
	}
	return 0;
}

static void group_release(struct regbuf_bufring *br, struct br_group *g)
{
	if (g->ring_mem.len)
		regbuf_free(br->pool, &g->ring_mem);
	else if (g->ring)
		rb_munmap(g->ring, g->ring_bytes);
	memset(g, 0, sizeof(*g));
}

static int unregister(struct regbuf_bufring *br, struct br_group *g)
{
	struct io_uring_buf_reg reg = {.bgid = g->bgid};
	int ret = rb_uring_register(br->ring_fd, IORING_UNREGISTER_PBUF_RING,
				    &reg, 1);

	g->registered = false;
	return ret;
}

/* Add group number gi: carve its buffers, register its ring, post all. */
static int add_group(struct regbuf_bufring *br, unsigned gi)
{
	struct br_group *g = &br->groups[gi];
	struct io_uring_buf_reg reg = {0};
	unsigned blocks0 = br->nr_blocks;
	int ret;

	memset(g, 0, sizeof(*g));
	g->bgid = (uint16_t)(br->st.first_bgid + gi);
	ret = carve(br, gi);
	if (ret) {
		ret = rb_err(ret,
			     "the pool has no room for %u buffers of %u bytes",
			     br->nbufs, br->buf_size);
		goto undo_blocks;
	}
	ret = ring_memory(br, g, &reg);
	if (ret) {
		rb_err(ret, "no memory for the ring entries");
		goto undo_blocks;
	}
	reg.ring_entries = br->nbufs;
	reg.bgid = g->bgid;
	if (br->inc) {
		reg.flags |= IOU_PBUF_RING_INC;
		reg.min_left = br->min_left;
	}
	ret = rb_uring_register(br->ring_fd, IORING_REGISTER_PBUF_RING, &reg,
				1);
	if (ret) {
		if (ret == -EEXIST)
			rb_err(ret,
			       "buffer group %u is already in use on ring fd %d",
			       g->bgid, br->ring_fd);
		else if (ret == -EBADF || ret == -EOPNOTSUPP)
			rb_err(-EBADF, "fd %d is not an io_uring ring",
			       br->ring_fd);
		else
			rb_err(ret, "registering buffer group %u failed: %s",
			       g->bgid, strerror(-ret));
		if (ret == -EOPNOTSUPP)
			ret = -EBADF;
		goto undo_ring;
	}
	g->registered = true;
	if (reg.flags & IOU_PBUF_RING_MMAP) {
		void *m;
		uint64_t off = IORING_OFF_PBUF_RING |
			       ((uint64_t)g->bgid << IORING_OFF_PBUF_SHIFT);

		ret = rb_mmap(&m, NULL, g->ring_bytes, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_POPULATE, br->ring_fd,
			      (off_t)off);
		if (ret) {
			rb_err(ret, "mapping the kernel's ring of group %u: %s",
			       g->bgid, strerror(-ret));
			unregister(br, g);
			goto undo_ring;
		}
		g->ring = m;
	}
	/* Nothing can use the group yet: post every buffer from the head
	 * the kernel starts at. */
	g->tail = head_start(br->ring_fd, g->bgid);
	for (uint32_t i = 0; i < br->nbufs; i++)
		give_to_kernel(br, gi * br->nbufs + i);
	publish_tail(g);
	br->nr_groups = gi + 1;
	br->st.in_kernel += br->nbufs;
	return 0;
undo_ring:
	for (uint32_t i = 0; i < br->nbufs; i++)
		br->bids[gi * br->nbufs + i].in_kernel = false;
	group_release(br, g);
undo_blocks:
	while (br->nr_blocks > blocks0)
		regbuf_free(br->pool, &br->blocks[--br->nr_blocks]);
	return ret;
}

static void release_all(struct regbuf_bufring *br)
{
	/* The pool destroyed first took its memory with it. */
	bool pool_gone = !rb_pool_live(br->pool);

	for (unsigned i = 0; i < br->nr_groups; i++) {
		if (pool_gone)
			br->groups[i].ring_mem.len = 0;
		if (pool_gone && !br->groups[i].ring_mem.len &&
		    br->groups[i].ring &&
		    br->groups[i].ring == br->groups[i].ring_mem.addr)
			br->groups[i].ring = NULL;
		group_release(br, &br->groups[i]);
	}
	while (br->nr_blocks && !pool_gone)
		regbuf_free(br->pool, &br->blocks[--br->nr_blocks]);
	free(br->blocks);
	free(br->bids);
	br->magic = 0;
	free(br);
}

static int check_create(struct regbuf_pool *pool, int ring_fd,
			const struct regbuf_bufring_opts *o,
			struct regbuf_bufring **out)
{
	uint64_t slot_max = 0;
	unsigned groups;

	if (!rb_pool_ok(pool) || !o || !out)
		return rb_err(-EINVAL, "bufring: pool, opts and out needed");
	for (unsigned i = 0; i < RB_ARRAY_SIZE(o->reserved); i++)
		if (o->reserved[i])
			return rb_err(-EINVAL,
				      "bufring reserved fields must be zero");
	if (o->flags & ~(REGBUF_BUFRING_INC | REGBUF_BUFRING_REQUIRE_INC |
			 REGBUF_BUFRING_GROW))
		return rb_err(-EINVAL, "unknown bufring flags 0x%x", o->flags);
	if (!rb_is_pow2(o->nbufs) || o->nbufs > RB_MAX_PBUF_ENTRIES)
		return rb_err(-EINVAL,
			      "nbufs %u must be a power of two, 1..32768",
			      o->nbufs);
	for (unsigned i = 0; i < rb_pool_nr_slots(pool); i++)
		if (pool->slots[i].len > slot_max)
			slot_max = pool->slots[i].len;
	if (!o->buf_size || o->buf_size > slot_max)
		return rb_err(
			-EINVAL,
			"buffer size %u does not fit the pool (largest slot %llu bytes)",
			o->buf_size, (unsigned long long)slot_max);
	if (o->min_left && !(o->flags & REGBUF_BUFRING_INC))
		return rb_err(-EINVAL, "min_left needs REGBUF_BUFRING_INC");
	if (o->min_left >= o->buf_size)
		return o->min_left
			       ? rb_err(-EINVAL,
					"min_left %u must be below the buffer size",
					o->min_left)
			       : 0;
	groups = o->flags & REGBUF_BUFRING_GROW
			 ? (o->max_groups ? o->max_groups : 2)
			 : 1;
	if (groups > BR_MAX_GROUPS || (uint64_t)groups * o->nbufs > 65536 ||
	    o->bgid + groups - 1 > 65535)
		return rb_err(
			-EINVAL,
			"%u groups of %u buffers exceed 16-bit buffer or group ids",
			groups, o->nbufs);
	if (ring_fd < 0)
		return rb_err(-EBADF, "fd %d is not an io_uring ring", ring_fd);
	return 0;
}

RB_EXPORT int regbuf_bufring_create_opts(struct regbuf_pool *pool, int ring_fd,
					 const struct regbuf_bufring_opts *o,
					 struct regbuf_bufring **out)
{
	struct regbuf_bufring_opts k;
	struct regbuf_bufring *br;
	int ret;

	rb_err_clear();
	/* the caller's struct, of whatever size (the struct-size contract) */
	ret = o ? rb_struct_in(&k, sizeof(k), o, "bufring options") : 0;
	if (ret)
		return ret;
	if (o)
		o = &k;
	ret = check_create(pool, ring_fd, o, out);
	if (ret)
		return ret;
	if (!rb_has(REGBUF_FEAT_PBUF_RING))
		return rb_err(
			-EOPNOTSUPP,
			"this kernel has no provided-buffer rings (5.19+)");
	if ((o->flags & REGBUF_BUFRING_REQUIRE_INC) &&
	    (((o->flags & REGBUF_BUFRING_INC) &&
	      !rb_has(REGBUF_FEAT_PBUF_INC)) ||
	     (o->min_left && !rb_has(REGBUF_FEAT_MIN_LEFT))))
		return rb_err(-EOPNOTSUPP, "this kernel has no %s buffer rings",
			      rb_has(REGBUF_FEAT_PBUF_INC) ? "min_left for"
							   : "incremental");
	br = rb_calloc(1, sizeof(*br));
	if (!br)
		return -ENOMEM; /* the heap said why */
	br->pool = pool;
	br->ring_fd = ring_fd;
	br->flags = o->flags;
	br->nbufs = o->nbufs;
	br->buf_size = o->buf_size;
	br->inc =
		(o->flags & REGBUF_BUFRING_INC) && rb_has(REGBUF_FEAT_PBUF_INC);
	br->min_left =
		br->inc && rb_has(REGBUF_FEAT_MIN_LEFT) ? o->min_left : 0;
	br->max_groups = o->flags & REGBUF_BUFRING_GROW
				 ? (o->max_groups ? o->max_groups : 2)
				 : 1;
	br->tag = __atomic_fetch_add(&br_next_tag, 1, __ATOMIC_RELAXED);
	br->st.struct_size = sizeof(br->st);
	br->st.first_bgid = o->bgid;
	br->st.buf_size = o->buf_size;
	br->bids = rb_calloc((size_t)br->max_groups * br->nbufs,
			     sizeof(*br->bids));
	if (!br->bids) {
		free(br);
		return -ENOMEM; /* the heap said why */
	}
	br->magic = BR_MAGIC;
	ret = add_group(br, 0);
	if (ret) {
		release_all(br);
		return ret;
	}
	*out = br;
	return 0;
}

RB_EXPORT int regbuf_bufring_create(struct regbuf_pool *pool, int ring_fd,
				    uint16_t bgid, uint32_t nbufs,
				    uint32_t buf_size, uint32_t flags,
				    struct regbuf_bufring **out)
{
	struct regbuf_bufring_opts o;

	regbuf_bufring_opts_init(&o);
	o.bgid = bgid;
	o.nbufs = nbufs;
	o.buf_size = buf_size;
	o.flags = flags;
	return regbuf_bufring_create_opts(pool, ring_fd, &o, out);
}

RB_EXPORT int regbuf_bufring_bgid(const struct regbuf_bufring *br)
{
	unsigned best = 0;

	if (!br_ok(br))
		return rb_err(-EINVAL, "not a bufring");
	for (unsigned i = 1; i < br->nr_groups; i++)
		if (br->groups[i].in_kernel > br->groups[best].in_kernel)
			best = i;
	return br->groups[best].bgid;
}

static void ran_dry(struct regbuf_bufring *br)
{
	br->st.dry++;
	if (!(br->flags & REGBUF_BUFRING_GROW) ||
	    br->nr_groups >= br->max_groups)
		return;
	/* Only when every group is really empty: a receive that ran dry on
	 * one group while another has buffers just needs re-arming. */
	for (unsigned i = 0; i < br->nr_groups; i++)
		if (br->groups[i].in_kernel)
			return;
	if (add_group(br, br->nr_groups))
		br->st.grow_failures++;
	else
		br->st.grows++;
}

RB_EXPORT int regbuf_bufring_take(struct regbuf_bufring *br, int32_t res,
				  uint32_t cqe_flags, struct regbuf_buf *bufs,
				  unsigned max)
{
	uint32_t nbids, bid, left;
	unsigned n = 0;

	if (!br_ok(br) || !bufs || !max)
		return rb_err(-EINVAL,
			      "bufring_take: bufring and handles needed");
	if (res < 0) {
		if (res == -ENOBUFS)
			ran_dry(br);
		return res;
	}
	if (!(cqe_flags & IORING_CQE_F_BUFFER))
		return 0;
	nbids = br->nr_groups * br->nbufs;
	bid = cqe_flags >> IORING_CQE_BUFFER_SHIFT;
	left = (uint32_t)res;
	/* Validate the whole chain first: nothing is taken on error. */
	for (uint32_t b = bid, l = left, k = 0;; k++) {
		const struct br_bid *e;
		uint32_t room;

		if (b >= nbids || !br->bids[b].in_kernel)
			return rb_err(
				-EINVAL,
				"buffer id %u is not in the kernel for this bufring",
				b);
		if (k >= max)
			return rb_err(
				-EMSGSIZE,
				"the completion spans more than %u buffers",
				max);
		e = &br->bids[b];
		room = br->buf_size - (br->inc ? e->consumed : 0);
		if (l <= room)
			break;
		l -= room;
		{
			const struct br_group *g = &br->groups[b / br->nbufs];

			b = g->ring[(uint16_t)(e->pos + 1) & (br->nbufs - 1)]
				    .bid;
		}
	}
	for (;;) {
		struct br_bid *e = &br->bids[bid];
		struct br_group *g = &br->groups[bid / br->nbufs];
		uint32_t off = br->inc ? e->consumed : 0;
		uint32_t room = br->buf_size - off, len = left;
		bool last = left <= room, done;
		struct regbuf_buf *out = &bufs[n++];

		if (!last)
			len = room;
		/* The last piece stays in the kernel while BUF_MORE says so;
		 * earlier ones of a bundle were used up. */
		done = !br->inc || !last ||
		       !(cqe_flags & IORING_CQE_F_BUF_MORE);
		out->addr = e->addr + off;
		out->len = len;
		out->slot = e->slot;
		out->bid = (uint16_t)bid;
		out->flags = REGBUF_BUF_RING | (done ? 0 : REGBUF_BUF_MORE);
		out->cookie = ((uint64_t)br->tag << 32) | bid;
		e->consumed += len;
		e->refs++;
		if (done) {
			e->in_kernel = false;
			g->in_kernel--;
			br->st.in_kernel--;
			br->st.held++;
		}
		br->st.taken++;
		br->st.bytes += len;
		left -= len;
		if (last)
			break;
		bid = g->ring[(uint16_t)(e->pos + 1) & (br->nbufs - 1)].bid;
	}
	return (int)n;
}

RB_EXPORT int regbuf_bufring_recycle(struct regbuf_bufring *br,
				     struct regbuf_buf *buf)
{
	struct br_bid *e;
	uint32_t bid;

	if (!br_ok(br) || !buf)
		return rb_err(-EINVAL,
			      "bufring_recycle: bufring and handle needed");
	bid = (uint32_t)(buf->cookie & 0xffffffffu);
	if (!(buf->flags & REGBUF_BUF_RING) || buf->cookie >> 32 != br->tag ||
	    bid != buf->bid || bid >= br->nr_groups * br->nbufs ||
	    !br->bids[bid].refs)
		return rb_err(
			-EINVAL,
			"handle was not handed out by this bufring or was already recycled");
	e = &br->bids[bid];
	if ((uint8_t *)buf->addr < e->addr ||
	    (uint8_t *)buf->addr + buf->len > e->addr + br->buf_size)
		return rb_err(-EINVAL, "handle does not match buffer %u", bid);
	e->refs--;
	br->st.recycled++;
	buf->cookie = 0;
	buf->flags = 0;
	if (e->refs || e->in_kernel)
		return 0;
	br->st.held--;
	br->st.in_kernel++;
	give_to_kernel(br, bid);
	publish_tail(&br->groups[bid / br->nbufs]);
	return 0;
}

RB_EXPORT int regbuf_bufring_stats(const struct regbuf_bufring *br,
				   struct regbuf_bufring_stats *st)
{
	struct regbuf_bufring_stats k;
	int usize;

	if (!br_ok(br) || !st)
		return rb_err(
			-EINVAL,
			"bufring_stats: bufring and a stats struct needed");
	usize = rb_struct_size(st, "regbuf_bufring_stats");
	if (usize < 0)
		return usize;
	k = br->st;
	k.flags = br->inc ? REGBUF_BUFRING_INC : 0;
	k.min_left = br->min_left;
	k.nbufs = br->nr_groups * br->nbufs;
	k.groups = br->nr_groups;
	k.ring_in_pool = br->groups[0].ring_mem.len != 0;
	rb_struct_out(st, (uint32_t)usize, &k, sizeof(k));
	return 0;
}

RB_EXPORT int regbuf_bufring_destroy(struct regbuf_bufring *br)
{
	int ret = 0;

	if (!br_ok(br))
		return rb_err(-EINVAL, "not a bufring");
	for (unsigned i = 0; i < br->nr_groups; i++) {
		int r;

		if (!br->groups[i].registered)
			continue;
		/* The kernel's head: all posted minus those still in it. */
		head_remember(br->ring_fd, br->groups[i].bgid,
			      (uint16_t)(br->groups[i].tail -
					 br->groups[i].in_kernel));
		r = unregister(br, &br->groups[i]);
		/* A closed ring already dropped its groups. */
		if (r && r != -EBADF && r != -ENXIO && !ret)
			ret = rb_err(r, "unregistering buffer group %u: %s",
				     br->groups[i].bgid, strerror(-r));
	}
	release_all(br);
	return ret;
}
