/* SPDX-License-Identifier: MIT */
/*
 * The anchor ring holds the pool's one registration; user rings receive
 * clones of it (6.12+; into a slot range on 6.13+), or on older kernels or
 * when the kernel refuses a clone (another creator user or mm), the same
 * iovecs registered again. Attachments are recorded by (fd, inode) so a
 * ring closed and its fd number reused is never mistaken for the old one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool.h"
#include "sys.h"

uint64_t rb_process_charge;

/* Slack for the anchor ring's own SQ/CQ memory, also charged. */
#define RB_ANCHOR_CHARGE (16 * RB_KIB)

void rb_registry_budget(struct rb_budget *b)
{
	uint64_t user;

	b->limit = rb_memlock_limit();
	b->enforced = b->limit != UINT64_MAX && !rb_cap_ipc_lock();
	/* what regbuf pinned in this process, or more when /proc shows more
	 * pinned by the user's processes (this one's other rings, other
	 * programs); read only where it matters */
	b->used = __atomic_load_n(&rb_process_charge, __ATOMIC_RELAXED);
	b->rings = 0;
	b->nr_rings = 0;
	if (b->enforced && !rb_user_charge(&user, &b->rings, &b->nr_rings)) {
		if (user > b->used)
			b->used = user;
		/* charged from 6.13, never in VmPin */
		b->used += b->rings;
	}
	b->room = !b->enforced ? UINT64_MAX
		  : b->limit > b->used + RB_ANCHOR_CHARGE
			  ? b->limit - b->used - RB_ANCHOR_CHARGE
			  : 0;
}

/* "8 MiB already charged to this user[, about 1.1 MiB of it the own
 * memory of 142 io_uring rings]" */
static const char *charged_str(const struct rb_budget *bg, char *buf,
			       size_t size)
{
	char a[32], b[32];
	int n = snprintf(buf, size, "%s already charged to this user",
			 rb_fmt_size(bg->used, a, sizeof(a)));

	if (bg->nr_rings && n > 0 && (size_t)n < size)
		snprintf(
			buf + n, size - (size_t)n,
			", about %s of it the own memory of %u io_uring ring%s",
			rb_fmt_size(bg->rings, b, sizeof(b)), bg->nr_rings,
			bg->nr_rings == 1 ? "" : "s");
	return buf;
}

/* The RLIMIT_MEMLOCK to advise for a total charge: with 64 KiB for rings
 * closed a moment ago (a probe's, the program's own), still charged until
 * the kernel's exit work releases them, rounded up to 256 KiB. */
static uint64_t advised_limit(uint64_t charge)
{
	return (charge + 64 * RB_KIB + 256 * RB_KIB - 1) & ~(256 * RB_KIB - 1);
}

/*
 * How many of the *nr slots from first fit the budget: all (0), fewer for
 * a PARTIAL pool (*nr lowered, the notes say how much; the pool fitted its
 * layout to the budget beforehand), or -ENOMEM naming the limit needed.
 */
static int memlock_budget(struct regbuf_pool *p, const struct rb_budget *bg,
			  unsigned first, unsigned *nr)
{
	char charged[128];
	uint64_t limit = bg->limit, used = bg->used, need = RB_ANCHOR_CHARGE;
	bool partial = p->flags & REGBUF_POOL_PARTIAL;
	char a[32], b[32], d[32];
	unsigned n, end;

	if (!bg->enforced)
		return 0;
	end = first + *nr;
	for (n = first; n < end && used + need + p->slots[n].charge <= limit;
	     n++)
		need += p->slots[n].charge;
	if (n == end)
		return 0;
	if (partial) {
		uint64_t bytes = 0;

		for (unsigned i = first; i < n; i++)
			bytes += p->slots[i].len;
		if (n > first)
			rb_note(p->notes, sizeof(p->notes),
				"memlock: %u of %u slots (%s) fit RLIMIT_MEMLOCK of %s; the rest is plain memory",
				n - first, *nr,
				rb_fmt_size(bytes, b, sizeof(b)),
				rb_fmt_size(limit, a, sizeof(a)));
		else
			rb_note(p->notes, sizeof(p->notes),
				"memlock: nothing registered, RLIMIT_MEMLOCK of %s leaves no room (%s)",
				rb_fmt_size(limit, a, sizeof(a)),
				charged_str(bg, charged, sizeof(charged)));
		*nr = n - first;
		return 0;
	}
	for (unsigned i = n; i < end; i++)
		need += p->slots[i].charge;
	return rb_err(
		-ENOMEM,
		"registering slots %u..%u charges %s to RLIMIT_MEMLOCK, which is %s (%s): raise it to at least %s (ulimit -l %llu, LimitMEMLOCK= in systemd, memlock in limits.conf) or grant CAP_IPC_LOCK",
		first, end - 1, rb_fmt_size(need, a, sizeof(a)),
		rb_fmt_size(limit, b, sizeof(b)),
		charged_str(bg, charged, sizeof(charged)),
		rb_fmt_size(advised_limit(used + need), d, sizeof(d)),
		(unsigned long long)(advised_limit(used + need) >> 10));
}

/* Every live anchor ring of this process: never a destination for attach
 * (cloning into another pool's anchor would replace that pool's slots). */
static pthread_mutex_t anchors_lock = PTHREAD_MUTEX_INITIALIZER;
static struct anchor_id {
	dev_t dev;
	ino_t ino;
} * anchors;
static unsigned nr_anchors, cap_anchors;

static int anchor_add(int fd)
{
	struct stat st;
	int ret = rb_fstat(fd, &st);

	if (ret)
		return ret;
	pthread_mutex_lock(&anchors_lock);
	if (nr_anchors == cap_anchors) {
		unsigned c = cap_anchors ? cap_anchors * 2 : 8;
		struct anchor_id *n = rb_realloc(anchors, c * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&anchors_lock);
			return -ENOMEM;
		}
		anchors = n;
		cap_anchors = c;
	}
	anchors[nr_anchors++] = (struct anchor_id){st.st_dev, st.st_ino};
	pthread_mutex_unlock(&anchors_lock);
	return 0;
}

static void anchor_remove(int fd)
{
	struct stat st;

	if (rb_fstat(fd, &st))
		return;
	pthread_mutex_lock(&anchors_lock);
	for (unsigned i = 0; i < nr_anchors; i++)
		if (anchors[i].dev == st.st_dev &&
		    anchors[i].ino == st.st_ino) {
			anchors[i] = anchors[--nr_anchors];
			break;
		}
	pthread_mutex_unlock(&anchors_lock);
}

static bool is_anchor(const struct stat *st)
{
	bool found = false;

	pthread_mutex_lock(&anchors_lock);
	for (unsigned i = 0; i < nr_anchors && !found; i++)
		found = anchors[i].dev == st->st_dev &&
			anchors[i].ino == st->st_ino;
	pthread_mutex_unlock(&anchors_lock);
	return found;
}

/* What registering slots [first, first + nr) on a new anchor charges. */
static uint64_t slots_charge(const struct regbuf_pool *p, unsigned first,
			     unsigned nr)
{
	uint64_t need = RB_ANCHOR_CHARGE;

	for (unsigned i = first; i < first + nr; i++)
		need += p->slots[i].charge;
	return need;
}

/* What the kernel refused that the budget (read before) allowed: more is
 * charged than /proc shows (rings being released, processes hidden from
 * us, rings not mapped in a shape fdinfo does not show). ENOMEM, with the
 * limit and a value above it. */
static int refused_above(const struct rb_budget *bg, const char *what,
			 uint64_t need)
{
	char a[32], c[128], d[32];
	uint64_t total =
		bg->used + need > bg->limit ? bg->used + need : bg->limit;

	if (!bg->enforced)
		return rb_err(-ENOMEM, "the kernel refused %s (ENOMEM)", what);
	return rb_err(
		-ENOMEM,
		"the kernel refused %s: RLIMIT_MEMLOCK of %s is per user and the kernel counts more than /proc shows (%s; rings closed a moment ago count until released): raise it above %s (ulimit -l %llu or more) or grant CAP_IPC_LOCK",
		what, rb_fmt_size(bg->limit, a, sizeof(a)),
		charged_str(bg, c, sizeof(c)),
		rb_fmt_size(advised_limit(total), d, sizeof(d)),
		(unsigned long long)(advised_limit(total) >> 10));
}

/* A new anchor ring holding slots [first, first + nr) of the pool: its fd,
 * or -errno with nothing left behind. bg: the budget the caller read. */
static int anchor_open(struct regbuf_pool *p, const struct rb_budget *bg,
		       unsigned first, unsigned nr)
{
	struct io_uring_params params;
	char a[32], what[64];
	uint64_t t0;
	int fd, ret;

	memset(&params, 0, sizeof(params));
	fd = rb_uring_setup(1, &params);
	if (fd == -ENOMEM)
		return refused_above(bg, "an anchor ring",
				     slots_charge(p, first, nr));
	if (fd < 0)
		return rb_err(fd, "cannot create an anchor ring: %s",
			      strerror(-fd));
	t0 = rb_now_ns();
	ret = rb_uring_register(fd, IORING_REGISTER_BUFFERS, p->iov + first,
				nr);
	if (!p->nr_anchors) /* the pool's registration, not a growth */
		p->register_ns = rb_now_ns() - t0;
	if (!ret)
		ret = anchor_add(fd);
	if (!ret)
		return fd;
	rb_close(fd);
	if (ret == -ENOMEM) {
		snprintf(what, sizeof(what), "to pin %s",
			 rb_fmt_size(p->size, a, sizeof(a)));
		return refused_above(bg, what, slots_charge(p, first, nr));
	}
	return rb_err(ret, "registering slots %u..%u failed: %s", first,
		      first + nr - 1, strerror(-ret));
}

/* Unregister explicitly (closing a ring tears it down asynchronously, and
 * VmPin should drop now), forget and close an anchor ring. */
static void anchor_close(int fd)
{
	rb_uring_register(fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
	anchor_remove(fd);
	rb_close(fd);
}

/* Slots [first, first + nr) now live on anchor fd (p->lock held when
 * rings may be reading). Returns the memlock charge they add. */
static uint64_t anchor_record(struct regbuf_pool *p, int fd, unsigned first,
			      unsigned nr)
{
	uint64_t charge = 0;

	p->anchors[p->nr_anchors++] = (struct rb_anchor){fd, first, nr};
	for (unsigned i = first; i < first + nr; i++) {
		p->slots[i].registered = true;
		p->registered_bytes += p->slots[i].len;
		p->bvecs += p->slots[i].bvecs;
		charge += p->slots[i].charge;
	}
	if (!rb_pin_charged())
		charge = 0; /* 7.2+ does not account this ring */
	p->charge += charge;
	__atomic_add_fetch(&rb_process_charge, charge, __ATOMIC_RELAXED);
	__atomic_store_n(&p->nr_registered, p->nr_registered + nr,
			 __ATOMIC_RELEASE);
	return charge;
}

int rb_registry_register(struct regbuf_pool *p, const struct rb_budget *bg)
{
	const struct regbuf_features *f = rb_features();
	unsigned fit = p->nr_slots;
	int fd, ret;

	if (f->io_uring != REGBUF_IO_URING_AVAILABLE) {
		p->io_uring_errno = f->io_uring_errno;
		rb_note(p->notes, sizeof(p->notes), "not registered: %s",
			f->why);
		return 0; /* degrade: the pool is plain aligned memory */
	}
	ret = memlock_budget(p, bg, 0, &fit);
	if (ret)
		return ret;
	if (!fit) {
		/* PARTIAL with no room at all: said in the flags and notes */
		p->io_uring_errno = ENOMEM;
		p->info_flags |= REGBUF_INFO_PARTIAL;
		return 0;
	}
	fd = anchor_open(p, bg, 0, fit);
	if (fd < 0)
		return fd;
	anchor_record(p, fd, 0, fit);
	p->info_flags |= fit == p->nr_slots ? REGBUF_INFO_REGISTERED
					    : REGBUF_INFO_PARTIAL;
	return 0;
}

/* Fill [first, first + nr) of ring fd with iov (NULL: empty slots),
 * through BUFFERS_UPDATE, which may report partial progress. */
static int update_range(int fd, unsigned first, const struct iovec *iov,
			unsigned nr, unsigned *done)
{
	struct iovec *empty = NULL;
	int ret = 0;

	*done = 0;
	if (!iov) {
		empty = rb_calloc(nr, sizeof(*empty));
		if (!empty)
			return -ENOMEM;
		iov = empty;
	}
	while (*done < nr) {
		struct io_uring_rsrc_update2 up = {0};

		up.offset = first + *done;
		up.data = (uint64_t)(uintptr_t)(iov + *done);
		up.nr = nr - *done;
		ret = rb_uring_register(fd, IORING_REGISTER_BUFFERS_UPDATE, &up,
					sizeof(up));
		if (ret <= 0) {
			ret = ret ? ret : -EIO;
			break;
		}
		*done += (unsigned)ret;
		ret = 0;
	}
	free(empty);
	return ret;
}

static int attach_register(struct regbuf_pool *p, int fd, unsigned first)
{
	unsigned nr = p->nr_registered, done = 0;
	struct iovec *iov;
	int ret;

	/* A ring without a table: one registration with empty slots first. */
	iov = rb_calloc(first + nr, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	memcpy(iov + first, p->iov, nr * sizeof(*iov));
	ret = rb_uring_register(fd, IORING_REGISTER_BUFFERS, iov, first + nr);
	free(iov);
	if (ret != -EBUSY)
		return ret;
	/* The ring has a table: fill the range, undo on failure. */
	ret = update_range(fd, first, p->iov, nr, &done);
	if (ret) {
		unsigned undone;

		if (done)
			update_range(fd, first, NULL, done, &undone);
		if (ret == -EINVAL)
			return rb_err(
				-ENOSPC,
				"the ring's buffer table is smaller than slot %u and this kernel cannot grow it (clone with ranges needs 6.13)",
				first + nr);
	}
	return ret;
}

static int clone_one(int src, int fd, unsigned dst_off, unsigned nr,
		     bool ranges)
{
	struct io_uring_clone_buffers c = {0};

	c.src_fd = (uint32_t)src;
	if (ranges) {
		c.flags = IORING_REGISTER_DST_REPLACE;
		c.dst_off = dst_off;
		c.nr = nr;
	}
	return rb_uring_register(fd, IORING_REGISTER_CLONE_BUFFERS, &c, 1);
}

/* Clone every anchor's slots into ring fd from first on. A whole-table
 * clone (no ranges) can only carry a pool that never grew. */
static int clone_into(struct regbuf_pool *p, int fd, unsigned first,
		      bool ranges)
{
	unsigned done;
	int ret = 0;

	if (!ranges && p->nr_anchors > 1)
		return -EINVAL; /* register instead */
	for (unsigned k = 0; !ret && k < p->nr_anchors; k++) {
		const struct rb_anchor *an = &p->anchors[k];

		ret = clone_one(an->fd, fd, first + an->first, an->nr, ranges);
		if (k && ret && ret != -EBADF && ret != -EOPNOTSUPP) {
			/* empty what the earlier anchors put there */
			update_range(fd, first, NULL, an->first, &done);
			ret = -EINVAL;
		}
	}
	return ret;
}

/* Caller holds p->lock. Drops records of rings that were closed. */
static struct rb_attachment **find_att(struct regbuf_pool *p, int fd,
				       const struct stat *st)
{
	struct rb_attachment **pp = &p->att;

	while (*pp) {
		struct rb_attachment *a = *pp;

		if (a->fd == fd) {
			if (st && a->ino == st->st_ino && a->dev == st->st_dev)
				return pp;
			/* Same number, another file: the ring was closed. */
			*pp = a->next;
			free(a);
			p->nr_attached--;
			continue;
		}
		pp = &a->next;
	}
	return NULL;
}

RB_EXPORT int regbuf_attach_cost_class(void)
{
	if (!rb_has(REGBUF_FEAT_CLONE))
		return REGBUF_ATTACH_COST_REGISTER;
	/* 7.2 takes a reference per huge page of every cloned buffer into
	 * the destination's accounting, unless the ring is not accounted */
	return rb_hpage_xarray() && rb_pin_charged()
		       ? REGBUF_ATTACH_COST_PER_BVEC
		       : REGBUF_ATTACH_COST_PER_SLOT;
}

/* What attach refuses before it touches anything. */
static int attach_check(struct regbuf_pool *pool, int ring_fd,
			unsigned first_slot, struct stat *st)
{
	unsigned nr_reg =
		__atomic_load_n(&pool->nr_registered, __ATOMIC_ACQUIRE);

	if (!pool->nr_anchors || !nr_reg)
		return rb_err(
			-EINVAL,
			"the pool is not registered (io_uring errno %d); use it as plain memory",
			pool->io_uring_errno);
	if (first_slot >= IORING_MAX_REG_BUFFERS ||
	    first_slot + nr_reg > IORING_MAX_REG_BUFFERS)
		return rb_err(-EINVAL, "slots %u..%u are past the kernel's %u",
			      first_slot, first_slot + nr_reg - 1,
			      IORING_MAX_REG_BUFFERS);
	if (ring_fd < 0 || rb_fstat(ring_fd, st))
		return rb_err(-EBADF, "fd %d is not open", ring_fd);
	if (is_anchor(st))
		return rb_err(-EINVAL, "fd %d is a regbuf pool's anchor ring",
			      ring_fd);
	return 0;
}

/* Put the pool's slots into ring fd by the best way this kernel has:
 * clone into the range (6.13+), whole-table clone (6.12), else (no clone,
 * or refused: another creator or mm, a full table on 6.12) register the
 * same memory again. Returns the method or -errno (pool->lock held). */
static int attach_slots(struct regbuf_pool *pool, int fd, unsigned first)
{
	unsigned long heap0;
	int ret = -EINVAL, method = 0;

	if (rb_has(REGBUF_FEAT_CLONE_RANGES)) {
		ret = clone_into(pool, fd, first, true);
		method = REGBUF_ATTACH_CLONE_RANGE;
	} else if (rb_has(REGBUF_FEAT_CLONE) && first == 0) {
		ret = clone_into(pool, fd, 0, false);
		method = REGBUF_ATTACH_CLONE;
	}
	if (ret && ret != -EBADF && ret != -EOPNOTSUPP) {
		method = REGBUF_ATTACH_REGISTER;
		heap0 = rb_heap_failures();
		ret = attach_register(pool, fd, first);
		if (ret && ret != -EBADF && ret != -EOPNOTSUPP &&
		    ret != -ENOSPC)
			ret = rb_err_above(
				heap0, ret,
				"registering the pool into ring fd %d failed: %s",
				fd, strerror(-ret));
	}
	if (ret == -EBADF || ret == -EOPNOTSUPP)
		ret = rb_err(ret, "fd %d is not an io_uring ring", fd);
	return ret ? ret : method;
}

RB_EXPORT int regbuf_pool_attach(struct regbuf_pool *pool, int ring_fd,
				 unsigned first_slot)
{
	struct rb_attachment *a;
	struct stat st;
	int ret;

	if (!rb_pool_ok(pool))
		return rb_err(-EINVAL, "regbuf_pool_attach: not a pool");
	ret = attach_check(pool, ring_fd, first_slot, &st);
	if (ret)
		return ret;
	a = rb_calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM; /* the heap said why */
	pthread_mutex_lock(&pool->lock);
	if (find_att(pool, ring_fd, &st))
		ret = rb_err(-EEXIST, "ring fd %d already holds this pool",
			     ring_fd);
	else
		ret = attach_slots(pool, ring_fd, first_slot);
	if (ret > 0) {
		*a = (struct rb_attachment){.next = pool->att,
					    .fd = ring_fd,
					    .ino = st.st_ino,
					    .dev = st.st_dev,
					    .first = first_slot,
					    .nr = pool->nr_registered,
					    .method = ret};
		pool->att = a;
		pool->nr_attached++;
		a = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	free(a);
	return ret;
}

RB_EXPORT int regbuf_pool_detach(struct regbuf_pool *pool, int ring_fd)
{
	struct rb_attachment **pp, *a;
	unsigned long heap0;
	struct stat st;
	unsigned done;
	bool open;
	int ret;

	if (!rb_pool_ok(pool))
		return rb_err(-EINVAL, "regbuf_pool_detach: not a pool");
	pthread_mutex_lock(&pool->lock);
	ret = ring_fd >= 0 ? rb_fstat(ring_fd, &st) : -EBADF;
	if (ret && ret != -EBADF) {
		/* Open or not, unknown: forgetting a ring that still holds
		 * the slots would leave them registered behind our back. */
		ret = rb_err(ret, "cannot tell whether ring fd %d is open: %s",
			     ring_fd, strerror(-ret));
		goto out;
	}
	open = !ret;
	if (!open) {
		/* Closed before detach: forget it if we knew it. */
		for (pp = &pool->att; *pp && (*pp)->fd != ring_fd;)
			pp = &(*pp)->next;
	} else {
		pp = find_att(pool, ring_fd, &st);
	}
	if (!pp || !*pp) {
		ret = rb_err(-ENOENT, "ring fd %d is not attached", ring_fd);
		goto out;
	}
	a = *pp;
	if (open) {
		/* Still open: empty its slots first (EBADF: it closed since).
		 */
		heap0 = rb_heap_failures();
		ret = update_range(ring_fd, a->first, NULL, a->nr, &done);
		if (ret && ret != -EBADF) {
			ret = rb_err_above(
				heap0, ret, "emptying slots %u..%u failed: %s",
				a->first, a->first + a->nr - 1, strerror(-ret));
			goto out;
		}
	}
	*pp = a->next;
	free(a);
	pool->nr_attached--;
	ret = 0;
out:
	pthread_mutex_unlock(&pool->lock);
	return ret;
}

/* The attachment's ring is still open under its fd (not closed, and the
 * number not reused by another file). Only EBADF says closed: an fstat()
 * failing otherwise keeps the attachment (forgetting a live ring would
 * leave its slots registered without us knowing). */
static bool att_alive(const struct rb_attachment *a)
{
	struct stat st;
	int ret = rb_fstat(a->fd, &st);

	if (ret)
		return ret != -EBADF;
	return st.st_ino == a->ino && st.st_dev == a->dev;
}

/* Forget attachments whose ring was closed (fd gone or now another file). */
void rb_registry_prune(struct regbuf_pool *p)
{
	struct rb_attachment **pp = &p->att;

	pthread_mutex_lock(&p->lock);
	while (*pp) {
		struct rb_attachment *a = *pp;

		if (att_alive(a)) {
			pp = &a->next;
			continue;
		}
		*pp = a->next;
		free(a);
		p->nr_attached--;
	}
	pthread_mutex_unlock(&p->lock);
}

void rb_registry_teardown(struct regbuf_pool *p)
{
	struct rb_attachment *a, *next;

	pthread_mutex_lock(&p->lock);
	for (a = p->att; a; a = next) {
		unsigned done;

		next = a->next;
		if (att_alive(a))
			update_range(a->fd, a->first, NULL, a->nr, &done);
		free(a);
	}
	p->att = NULL;
	p->nr_attached = 0;
	pthread_mutex_unlock(&p->lock);
	for (unsigned k = p->nr_anchors; k-- > 0;)
		anchor_close(p->anchors[k].fd);
	if (p->nr_anchors)
		__atomic_sub_fetch(&rb_process_charge, p->charge,
				   __ATOMIC_RELAXED);
	p->nr_anchors = 0;
}

/* Give slots [first, first + nr) of new anchor fd to the ring of
 * attachment a (a closed ring gets nothing): all or nothing. */
static int give_slots(struct regbuf_pool *p, const struct rb_attachment *a,
		      int fd, unsigned first, unsigned nr)
{
	unsigned long heap0 = rb_heap_failures();
	unsigned done = 0;
	int ret;

	if (!att_alive(a))
		return 0;
	if (a->method == REGBUF_ATTACH_CLONE_RANGE)
		ret = clone_one(fd, a->fd, a->first + first, nr, true);
	else
		ret = update_range(a->fd, a->first + first, p->iov + first, nr,
				   &done);
	if (!ret)
		return 0;
	if (done)
		update_range(a->fd, a->first + first, NULL, done, &done);
	return rb_err_above(
		heap0, ret == -EINVAL ? -ENOSPC : ret,
		"ring fd %d cannot take slots %u..%u (its table cannot grow on this kernel, or they are taken): %s",
		a->fd, a->first + first, a->first + first + nr - 1,
		strerror(-ret));
}

int rb_registry_grow(struct regbuf_pool *p, unsigned first, unsigned nr)
{
	struct rb_attachment *a, *undo;
	struct rb_budget bg;
	unsigned done;
	int fd, ret;

	if (p->nr_anchors == RB_ARRAY_SIZE(p->anchors))
		return rb_err(-ENOSPC, "the pool has grown %d times already",
			      RB_MAX_CHUNKS);
	rb_registry_budget(&bg);
	ret = memlock_budget(p, &bg, first, &nr);
	if (ret)
		return ret;
	fd = anchor_open(p, &bg, first, nr);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&p->lock);
	for (a = p->att; a; a = a->next) {
		ret = give_slots(p, a, fd, first, nr);
		if (ret)
			break;
	}
	if (ret) {
		/* Take the slots back from the rings that got them. */
		for (undo = p->att; undo != a; undo = undo->next)
			if (att_alive(undo))
				update_range(undo->fd, undo->first + first,
					     NULL, nr, &done);
		pthread_mutex_unlock(&p->lock);
		anchor_close(fd);
		return ret;
	}
	for (a = p->att; a; a = a->next)
		a->nr += nr;
	anchor_record(p, fd, first, nr);
	pthread_mutex_unlock(&p->lock);
	return 0;
}
