/* SPDX-License-Identifier: MIT */
/*
 * The pool object: validate, obtain memory (backing), populate, lay out
 * (plan), register once (registry), hand out buffers (alloc). Teardown
 * runs the same steps in reverse.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "uapi.h"
#include "sys.h"

RB_EXPORT void regbuf_pool_opts_init(struct regbuf_pool_opts *opts)
{
	if (!opts)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->struct_size = sizeof(*opts);
	opts->backing = REGBUF_BACKING_AUTO;
	opts->numa_node = -1;
}

/* Whether node n exists (where sysfs lists nodes at all: without it the
 * kernel's mbind() is the judge). */
static bool node_exists(int n)
{
	char path[64];

	if (access("/sys/devices/system/node", F_OK))
		return true;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
	return !access(path, F_OK);
}

/* Read the caller's options into *o (the struct-size contract) and check
 * them; NULL means the defaults where allow_null. */
static int check_opts(struct regbuf_pool_opts *o,
		      const struct regbuf_pool_opts *user, bool need_size)
{
	int ret;

	if (!user) {
		if (need_size)
			return rb_err(-EINVAL, "options are required");
		regbuf_pool_opts_init(o);
		return 0;
	}
	ret = rb_struct_in(o, sizeof(*o), user, "pool options");
	if (ret)
		return ret;
	if (o->flags & ~REGBUF_POOL_FLAGS_ALL)
		return rb_err(-EINVAL, "unknown pool flags 0x%x",
			      o->flags & ~REGBUF_POOL_FLAGS_ALL);
	if (o->reserved0 || o->reserved[0] || o->reserved[1] || o->reserved[2])
		return rb_err(-EINVAL, "reserved option fields must be zero");
	if (o->max_size && !(o->flags & REGBUF_POOL_GROWABLE))
		return rb_err(-EINVAL, "max_size needs REGBUF_POOL_GROWABLE");
	if (o->flags & REGBUF_POOL_GROWABLE) {
		if (o->flags & (REGBUF_POOL_SHARED | REGBUF_POOL_PARTIAL))
			return rb_err(
				-EINVAL,
				"GROWABLE pools cannot be SHARED or PARTIAL");
		if (need_size &&
		    (o->max_size < o->size || o->max_size > (1ULL << 46)))
			return rb_err(
				-EINVAL,
				"max_size must lie between the size and 64 TiB");
	}
	if (need_size && !o->size)
		return rb_err(-EINVAL, "pool size must not be zero");
	if (need_size && o->size > (1ULL << 46))
		return rb_err(-EOVERFLOW, "pool size %llu is beyond 64 TiB",
			      (unsigned long long)o->size);
	if (o->backing < REGBUF_BACKING_AUTO ||
	    o->backing > REGBUF_BACKING_PAGES)
		return rb_err(-EINVAL, "unknown backing %d", o->backing);
	if ((o->flags & REGBUF_POOL_STRICT) &&
	    o->backing == REGBUF_BACKING_AUTO)
		return rb_err(-EINVAL, "STRICT needs an explicit backing");
	if (o->numa_node < -1 || o->numa_node >= 1024)
		return rb_err(-EINVAL, "numa_node %d out of range",
			      o->numa_node);
	if (o->numa_node >= 0 && !node_exists(o->numa_node))
		return rb_err(-EINVAL,
			      "NUMA node %d does not exist on this machine",
			      o->numa_node);
	if (o->populate_threads > 1024)
		return rb_err(-EINVAL, "populate_threads %u: at most 1024",
			      o->populate_threads);
	if (o->max_slot_size &&
	    (o->max_slot_size & 4095 || o->max_slot_size > rb_max_buf_size()))
		return rb_err(
			-EINVAL,
			"max_slot_size must be a multiple of 4096 up to %llu GiB (what this kernel takes in one buffer)",
			(unsigned long long)(rb_max_buf_size() >> 30));
	return 0;
}

static int grow_for(struct regbuf_pool *pool, size_t len, size_t align,
		    struct regbuf_buf *buf);

/* Populate chunks first_chunk.. and see, in the folio map, how much of the
 * THP chunks came back huge (the pool reports it; khugepaged may differ). */
static int populate(struct regbuf_pool *p, unsigned threads,
		    unsigned first_chunk)
{
	int ret = rb_backing_populate(p, threads, first_chunk);
	char a[32], b[32];

	for (unsigned c = first_chunk; !ret && c < p->nr_chunks; c++) {
		struct rb_chunk *ch = &p->chunks[c];
		int64_t huge;

		if (ch->backing != REGBUF_BACKING_THP)
			continue;
		huge = rb_huge_bytes(p->base + ch->offset, ch->len);
		if (huge < 0)
			continue;
		p->thp_huge_bytes += (uint64_t)huge;
		if ((uint64_t)huge < ch->len)
			rb_note(p->notes, sizeof(p->notes),
				"thp: only %s of %s came back huge",
				rb_fmt_size((uint64_t)huge, a, sizeof(a)),
				rb_fmt_size(ch->len, b, sizeof(b)));
	}
	return ret;
}

static struct regbuf_pool *pool_new(const struct regbuf_pool_opts *o)
{
	struct regbuf_pool *p = rb_calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->magic = RB_POOL_MAGIC;
	p->memfd = -1;
	p->numa_node = o ? o->numa_node : -1;
	p->flags = o ? o->flags : 0;
	p->max_size = o && (o->flags & REGBUF_POOL_GROWABLE) ? o->max_size : 0;
	if (p->flags & REGBUF_POOL_GROWABLE)
		p->grow_for = grow_for;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->grow_lock, NULL);
	return p;
}

static void pool_free(struct regbuf_pool *p)
{
	rb_pool_live_del(p);
	rb_alloc_fini(p);
	rb_registry_teardown(p);
	rb_backing_release(p);
	free(p->slots);
	free(p->iov);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->grow_lock);
	p->magic = 0;
	free(p);
}

/*
 * Plan, register, set up the allocator: the steps shared by every way of
 * making a pool once its memory is in place, in one direction. A PARTIAL
 * pool reads the memlock budget, fits its layout to it (the slot that
 * crosses the limit is split so its head fits), then registers what fits.
 */
static int pool_finish(struct regbuf_pool *p, const struct regbuf_pool_opts *o)
{
	bool reg = !(p->flags & REGBUF_POOL_NO_REGISTER), fit;
	struct rb_budget bg;
	int ret, tries = 0;
	size_t notes_len;
	char a[32];

	ret = rb_plan_pool(p, o ? o->max_slot_size : 0);
	if (!ret && reg)
		rb_registry_budget(&bg);
	fit = !ret && reg && (p->flags & REGBUF_POOL_PARTIAL) && bg.enforced;
	if (fit && bg.room && rb_plan_fit_budget(p, bg.room) < 0)
		ret = -ENOMEM; /* the heap said why */
	notes_len = strlen(p->notes);
	if (!ret && reg)
		ret = rb_registry_register(p, &bg);
	/*
	 * The kernel charges the user for more than /proc shows: from 6.13
	 * every ring's own SQ/CQ memory (a few pages a ring, not in VmPin;
	 * hundreds of rings in a database's postmaster), and rings closed a
	 * moment ago until their exit work ran. A PARTIAL pool that the
	 * kernel refused backs off: the budget shrinks by 64 KiB, then twice
	 * as much each time (at most 8 tries, 16 MiB in all), the layout is
	 * fitted again and registered again.
	 */
	for (uint64_t step = 64 * RB_KIB, back = 0;
	     fit && ret == -ENOMEM && tries < 8 && bg.room > back + step;
	     step *= 2, tries++) {
		struct rb_budget less = bg;

		back += step;
		less.used += back;
		less.room -= back;
		p->notes[notes_len] = '\0';
		rb_err_clear();
		ret = rb_plan_fit_budget(p, less.room) < 0
			      ? -ENOMEM
			      : rb_registry_register(p, &less);
		if (!ret)
			rb_note(p->notes, sizeof(p->notes),
				"memlock: the kernel refused %u fit(s) closer to the limit: it charges this user %s more than /proc shows (rings' own memory, rings being released)",
				tries + 1, rb_fmt_size(back, a, sizeof(a)));
	}
	if (!ret)
		ret = rb_alloc_init(p);
	return ret;
}

/*
 * The tail of every way of making a pool: on failure (ret) unwind all of
 * it, memory, registrations and fds (pool_free() undoes any prefix of the
 * steps); on success mark it, make it live and hand it out.
 */
static int pool_publish(struct regbuf_pool *p, int ret, uint32_t info_flags,
			struct regbuf_pool **out)
{
	if (!ret && rb_pool_live_add(p))
		ret = -ENOMEM; /* the heap said why */
	if (ret) {
		pool_free(p);
		return ret;
	}
	p->info_flags |= info_flags;
	*out = p;
	return 0;
}

static unsigned populate_threads(const struct regbuf_pool_opts *o)
{
	long n = o->populate_threads ? o->populate_threads
				     : rb_sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

RB_EXPORT int regbuf_pool_create(const struct regbuf_pool_opts *opts,
				 struct regbuf_pool **out)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	int ret;

	rb_err_clear();
	if (!out)
		return rb_err(-EINVAL, "out pointer is NULL");
	ret = check_opts(&o, opts, true);
	if (ret)
		return ret;
	opts = &o;
	rb_features();
	p = pool_new(opts);
	if (!p)
		return -ENOMEM; /* the heap said why */
	p->requested = opts->size;
	ret = rb_backing_obtain(p, opts);
	if (!ret && !(opts->flags & REGBUF_POOL_NO_POPULATE))
		ret = populate(p, populate_threads(opts), 0);
	if (!ret)
		ret = pool_finish(p, opts);
	return pool_publish(
		p, ret, p->flags & REGBUF_POOL_SHARED ? REGBUF_INFO_SHARED : 0,
		out);
}

RB_EXPORT int regbuf_pool_adopt(void *addr, size_t len,
				const struct regbuf_pool_opts *opts,
				struct regbuf_pool **out)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	uintptr_t a = (uintptr_t)addr;
	int ret;

	rb_err_clear();
	if (!out || !addr || !len)
		return rb_err(-EINVAL, "adopt needs addr, len > 0 and out");
	if ((a | len) & 4095)
		return rb_err(-EINVAL, "adopted memory must be page aligned");
	if (a + len < a)
		return rb_err(-EOVERFLOW, "range overflows");
	ret = check_opts(&o, opts, false);
	if (ret)
		return ret;
	opts = &o;
	if (opts->flags & (REGBUF_POOL_SHARED | REGBUF_POOL_STRICT))
		return rb_err(
			-EINVAL,
			"SHARED and STRICT do not apply to adopted memory");
	rb_features();
	p = pool_new(opts);
	if (!p)
		return -ENOMEM; /* the heap said why */
	p->base = addr;
	p->size = p->requested = len;
	p->nr_chunks = 1;
	p->chunks[0] = (struct rb_chunk){.offset = 0,
					 .len = len,
					 .page_size = 4096,
					 .backing = REGBUF_BACKING_CALLER,
					 .owner = RB_OWN_CALLER,
					 .populated = true};
	p->info_flags |= REGBUF_INFO_ADOPTED;
	return pool_publish(p, pool_finish(p, opts), 0, out);
}

/* Add len bytes to a GROWABLE pool (grow_lock held); returns the first new
 * slot or -errno with nothing changed. */
static int pool_grow_locked(struct regbuf_pool *pool, uint64_t len)
{
	unsigned chunk, first;
	char a[32];
	int ret, n = 0;

	/* Registered slots are contiguous from 0: grow only when all of the
	 * pool is registered, or none of it (plain memory). */
	if (pool->nr_registered && pool->nr_registered != pool->nr_slots)
		return rb_err(-EINVAL, "a partly registered pool cannot grow");
	if (len > pool->max_size - pool->size)
		return rb_err(
			-ENOSPC,
			"growing by %s would pass max_size (%llu of %llu bytes used)",
			rb_fmt_size(len, a, sizeof(a)),
			(unsigned long long)pool->size,
			(unsigned long long)pool->max_size);
	chunk = pool->nr_chunks;
	first = pool->nr_slots;
	ret = rb_backing_extend(pool, len);
	if (!ret && !(pool->flags & REGBUF_POOL_NO_POPULATE))
		ret = populate(pool, 1, chunk);
	if (!ret) {
		n = rb_plan_append(pool, chunk);
		ret = n < 0 ? n : 0;
	}
	if (!ret && pool->nr_anchors)
		ret = rb_registry_grow(pool, first, (unsigned)n);
	if (ret) {
		if (pool->nr_chunks > chunk)
			rb_backing_drop_last(pool);
		return ret;
	}
	rb_alloc_grow(pool, first, (unsigned)n);
	/* the pool publishes its new slots, once the allocator has them */
	__atomic_store_n(&pool->nr_slots, first + (unsigned)n,
			 __ATOMIC_RELEASE);
	return (int)first;
}

RB_EXPORT int regbuf_pool_grow(struct regbuf_pool *pool, size_t len)
{
	int ret;

	if (!rb_pool_ok(pool) || !len)
		return rb_err(-EINVAL, "regbuf_pool_grow: pool and len needed");
	if (!(pool->flags & REGBUF_POOL_GROWABLE))
		return rb_err(-EINVAL, "the pool was not created GROWABLE");
	pthread_mutex_lock(&pool->grow_lock);
	ret = pool_grow_locked(pool, len);
	pthread_mutex_unlock(&pool->grow_lock);
	return ret;
}

/* Tests only (t_grow): called under the grow lock after each growth and
 * before the retry, so that a test can take the new memory first. */
void (*rb_grow_hook)(struct regbuf_pool *p);

/*
 * The growth policy, for the allocator of a GROWABLE pool that has no room
 * for len: under the grow lock, try again (another thread may just have
 * grown the pool), else grow by the pool's size (doubling: the 8 chunks a
 * pool may have go a long way) or at least what len needs, capped by
 * max_size, and serve buf from the new memory. Threads that do not hold
 * the grow lock may take the new memory before this one does (they
 * allocate without it): then the pool is full again and grows again, until
 * buf is served or the pool cannot grow.
 */
static int grow_for(struct regbuf_pool *pool, size_t len, size_t align,
		    struct regbuf_buf *buf)
{
	uint64_t need = rb_align_up(2 * (uint64_t)len + align, 2 * RB_MIB);
	int ret;

	pthread_mutex_lock(&pool->grow_lock);
	for (;;) {
		uint64_t want = need < pool->size ? pool->size : need;

		ret = rb_alloc_raw(pool, len, align, buf);
		if (ret != -ENOMEM)
			break;
		if (want > pool->max_size - pool->size)
			want = pool->max_size - pool->size;
		if (want < len || pool_grow_locked(pool, want) < 0)
			break;
		if (rb_grow_hook)
			rb_grow_hook(pool);
	}
	pthread_mutex_unlock(&pool->grow_lock);
	return ret;
}

RB_EXPORT int regbuf_pool_fd(const struct regbuf_pool *pool)
{
	if (!rb_pool_ok(pool) || pool->memfd < 0)
		return rb_err(-EINVAL, "the pool is not SHARED");
	return pool->memfd;
}

RB_EXPORT int regbuf_pool_import(int fd, const struct regbuf_pool_opts *opts,
				 struct regbuf_pool **out)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	struct stat st;
	int backing, ret, dup_fd;

	rb_err_clear();
	if (!out)
		return rb_err(-EINVAL, "out pointer is NULL");
	ret = check_opts(&o, opts, false);
	opts = &o;
	if (ret)
		return ret;
	if (fd < 0 || rb_fstat(fd, &st))
		return rb_err(-EBADF, "fd %d is not open", fd);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size & 4095)
		return rb_err(-EINVAL, "fd %d is not a pool memfd", fd);
	/* hugetlbfs reports its page size as the block size. */
	backing = st.st_blksize == (blksize_t)RB_GIB ? REGBUF_BACKING_HUGE_1G
		  : st.st_blksize == (blksize_t)(2 * RB_MIB)
			  ? REGBUF_BACKING_HUGE_2M
			  : REGBUF_BACKING_PAGES;
	rb_features();
	dup_fd = rb_dup_cloexec(fd);
	if (dup_fd < 0)
		return rb_err(dup_fd, "cannot duplicate fd %d", fd);
	p = pool_new(opts);
	if (!p) {
		rb_close(dup_fd);
		return -ENOMEM; /* the heap said why */
	}
	p->flags &= ~REGBUF_POOL_SHARED;
	p->memfd = dup_fd;
	p->requested = (uint64_t)st.st_size;
	ret = rb_backing_map_fd(p, dup_fd, (uint64_t)st.st_size,
				backing == REGBUF_BACKING_PAGES
					? 4096
					: (uint64_t)st.st_blksize,
				backing);
	if (!ret) {
		p->chunks[0].populated = true;
		ret = pool_finish(p, opts);
	}
	return pool_publish(p, ret, REGBUF_INFO_IMPORTED | REGBUF_INFO_SHARED,
			    out);
}

RB_EXPORT void regbuf_pool_destroy(struct regbuf_pool *pool)
{
	if (!rb_pool_ok(pool))
		return;
	pool_free(pool);
}

/*
 * The accessors below are used per I/O (regbuf_prep_rw_span() calls two
 * per piece): like regbuf_alloc() they check the pool's magic only, no
 * lock and no walk of the live-pool list (which costs a process-wide mutex
 * and a scan). A destroyed pool is the caller's error there, as for
 * regbuf_alloc(); destroy, attach, import and info keep the full check.
 */
RB_EXPORT void *regbuf_pool_base(const struct regbuf_pool *pool)
{
	return rb_pool_ok_fast(pool) ? pool->base : NULL;
}

RB_EXPORT size_t regbuf_pool_size(const struct regbuf_pool *pool)
{
	return rb_pool_ok_fast(pool) ? rb_pool_size(pool) : 0;
}

RB_EXPORT int regbuf_pool_info(struct regbuf_pool *pool,
			       struct regbuf_pool_info *user)
{
	struct regbuf_pool *p = pool;
	struct regbuf_pool_info k, *info = &k;
	uint64_t biggest = 0;
	int usize;

	if (!rb_pool_ok(p) || !user)
		return rb_err(-EINVAL,
			      "regbuf_pool_info: pool and info needed");
	usize = rb_struct_size(user, "regbuf_pool_info");
	if (usize < 0)
		return usize;
	memset(info, 0, sizeof(*info));
	info->flags = p->info_flags;
	info->size = rb_pool_size(p);
	info->requested_size = p->requested;
	for (unsigned i = 0; i < p->nr_chunks; i++) {
		if (p->chunks[i].len > biggest) {
			biggest = p->chunks[i].len;
			info->backing = p->chunks[i].backing;
		}
	}
	if (p->nr_chunks && p->chunks[0].backing == REGBUF_BACKING_CALLER &&
	    p->nr_slots)
		info->backing = REGBUF_BACKING_CALLER;
	info->io_uring_errno = p->io_uring_errno;
	info->nr_chunks = p->nr_chunks;
	info->nr_slots = rb_pool_nr_slots(p);
	info->nr_registered_slots = p->nr_registered;
	/* Rings closed without a detach are forgotten, not counted. */
	rb_registry_prune(p);
	pthread_mutex_lock(&p->lock);
	info->nr_attached = p->nr_attached;
	pthread_mutex_unlock(&p->lock);
	info->registered_bytes = p->registered_bytes;
	info->predicted_bvecs = p->bvecs;
	info->memlock_charge = p->charge;
	info->thp_huge_bytes = p->thp_huge_bytes;
	info->populate_ns = p->populate_ns;
	info->register_ns = p->register_ns;
	info->numa_node = p->numa_node;
	memcpy(info->notes, p->notes, sizeof(info->notes));
	info->attach_cost = p->nr_registered ? regbuf_attach_cost_class()
					     : REGBUF_ATTACH_COST_NONE;
	info->attach_cost_units =
		info->attach_cost == REGBUF_ATTACH_COST_PER_SLOT
			? p->nr_registered
		: info->attach_cost == REGBUF_ATTACH_COST_PER_BVEC ? p->bvecs
		: info->attach_cost == REGBUF_ATTACH_COST_REGISTER
			? p->registered_bytes / 4096
			: 0;
	rb_struct_out(user, (uint32_t)usize, info, sizeof(*info));
	return 0;
}

RB_EXPORT int regbuf_pool_slot_of(const struct regbuf_pool *pool,
				  const void *addr,
				  struct regbuf_slot_info *slot)
{
	const uint8_t *a = addr;
	int idx;

	if (!rb_pool_ok_fast(pool) || !slot)
		return rb_err(-EINVAL,
			      "regbuf_pool_slot_of: pool and slot needed");
	if (a < pool->base || a >= pool->base + rb_pool_size(pool))
		return rb_err(-EFAULT, "%p is not inside the pool", addr);
	idx = (int)rb_slot_of(pool, (uint64_t)(a - pool->base));
	return regbuf_pool_slot(pool, (unsigned)idx, slot) ?: idx;
}

/*
 * For the I/O path: one binary search for the first iovec, then each
 * further iovec is checked against that slot's bounds; lock-free (the
 * magic only, as regbuf_alloc()). -EXDEV (memory the pool did not
 * register, I/O crossing slots) and -EFAULT (memory of another pool, or a
 * process's own) are expected answers there and cost no error message.
 */
RB_EXPORT int regbuf_pool_iov_slot(const struct regbuf_pool *pool,
				   const struct iovec *iov, unsigned nr)
{
	const uint8_t *base;
	const struct rb_slot *s;
	uint64_t size, lo, hi;
	unsigned idx;

	if (!rb_pool_ok_fast(pool) || !iov || !nr)
		return rb_err(-EINVAL,
			      "regbuf_pool_iov_slot: pool and iovecs needed");
	base = pool->base;
	size = rb_pool_size(pool);
	for (unsigned i = 0; i < nr; i++) {
		const uint8_t *a = iov[i].iov_base;

		if (!iov[i].iov_len || a < base || a >= base + size ||
		    iov[i].iov_len > (uint64_t)(base + size - a))
			return -EFAULT;
	}
	idx = rb_slot_of(pool,
			 (uint64_t)((const uint8_t *)iov[0].iov_base - base));
	s = &pool->slots[idx];
	if (!s->registered)
		return -EXDEV;
	lo = s->offset;
	hi = s->offset + s->len;
	for (unsigned i = 0; i < nr; i++) {
		uint64_t off =
			(uint64_t)((const uint8_t *)iov[i].iov_base - base);

		if (off < lo || off + iov[i].iov_len > hi)
			return -EXDEV;
	}
	return (int)idx;
}

RB_EXPORT int regbuf_pool_slot(const struct regbuf_pool *pool, unsigned idx,
			       struct regbuf_slot_info *slot)
{
	const struct rb_slot *s;
	int usize;

	if (!rb_pool_ok_fast(pool) || !slot)
		return rb_err(-EINVAL,
			      "regbuf_pool_slot: pool and slot needed");
	usize = rb_struct_size(slot, "regbuf_slot_info");
	if (usize < 0)
		return usize;
	if (idx >= rb_pool_nr_slots(pool))
		return rb_err(-ERANGE, "slot %u of %u", idx,
			      rb_pool_nr_slots(pool));
	s = &pool->slots[idx];
	rb_struct_out(slot, (uint32_t)usize,
		      &(struct regbuf_slot_info){.offset = s->offset,
						 .len = s->len,
						 .backing = s->backing,
						 .registered = s->registered,
						 .page_size = s->page_size,
						 .bvecs = s->bvecs,
						 .charge = s->charge},
		      sizeof(*slot));
	return 0;
}
