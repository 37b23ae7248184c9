/* SPDX-License-Identifier: MIT */
/*
 * Every error path unwinds: each system call and heap allocation regbuf
 * makes during an operation is made to fail in turn (1st, 2nd, ... use of
 * each kind) through the sys fault seam. After each, the operation either
 * failed and the process holds exactly what it held before (VmPin, fds,
 * mappings), or it succeeded by falling back and undoing it leaves
 * nothing either.
 */
#include <liburing.h>
#include <sys/mman.h>

#include "harness.h"
#include "alloc.h"
#include "sys.h"

typedef int (*op_fn)(void **state);
typedef void (*undo_fn)(void *state);

static struct regbuf_pool *attach_pool;
static struct io_uring attach_ring;
/* 8 MiB, or what RLIMIT_MEMLOCK leaves beside attach_pool (t_fit) */
static uint64_t op_size;

static int create_with(int backing, unsigned flags, void **st)
{
	struct regbuf_pool_opts o;

	regbuf_pool_opts_init(&o);
	o.size = op_size;
	o.backing = backing;
	o.flags = flags;
	o.populate_threads = 2;
	o.max_slot_size = 2 << 20; /* several slots */
	return regbuf_pool_create(&o, (struct regbuf_pool **)st);
}

static int op_auto(void **st)
{
	return create_with(REGBUF_BACKING_AUTO, 0, st);
}
static int op_2m(void **st)
{
	return create_with(REGBUF_BACKING_HUGE_2M, 0, st);
}
static int op_thp(void **st)
{
	return create_with(REGBUF_BACKING_THP, 0, st);
}
static int op_4k(void **st)
{
	return create_with(REGBUF_BACKING_PAGES, 0, st);
}
static int op_shared(void **st)
{
	return create_with(REGBUF_BACKING_HUGE_2M, REGBUF_POOL_SHARED, st);
}
static int op_shared_4k(void **st)
{
	return create_with(REGBUF_BACKING_PAGES, REGBUF_POOL_SHARED, st);
}
static void undo_pool(void *st)
{
	regbuf_pool_destroy(st);
}

static char adopt_mem[4 << 20] __attribute__((aligned(2 << 20)));
static int op_adopt(void **st)
{
	return regbuf_pool_adopt(adopt_mem, sizeof(adopt_mem), NULL,
				 (struct regbuf_pool **)st);
}

/* A SHARED pool and its import (the memfd dup'ed, mapped, registered
 * again): both undone together. */
struct imported {
	struct regbuf_pool *src, *dst;
};
static int op_import(void **st)
{
	struct imported *im = calloc(1, sizeof(*im));
	struct regbuf_pool_opts o;
	int ret;

	*st = NULL;
	if (!im)
		return -ENOMEM;
	regbuf_pool_opts_init(&o);
	o.size = 2 << 20;
	o.backing = REGBUF_BACKING_PAGES;
	o.flags = REGBUF_POOL_SHARED;
	ret = regbuf_pool_create(&o, &im->src);
	if (!ret) {
		ret = regbuf_pool_import(regbuf_pool_fd(im->src), NULL,
					 &im->dst);
		if (ret)
			regbuf_pool_destroy(im->src);
	}
	if (ret) {
		free(im);
		return ret;
	}
	*st = im;
	return 0;
}
static void undo_import(void *st)
{
	struct imported *im = st;

	regbuf_pool_destroy(im->dst);
	regbuf_pool_destroy(im->src);
	free(im);
}

static int op_attach(void **st)
{
	int ret = regbuf_pool_attach(attach_pool, attach_ring.ring_fd, 3);

	*st = NULL;
	return ret < 0 ? ret : 0;
}
static void undo_attach(void *st)
{
	(void)st;
	regbuf_pool_detach(attach_pool, attach_ring.ring_fd);
}

/* Attach then detach: a failed detach leaves the ring attached, and a
 * second detach (the fault has fired) cleans up. */
/* Whether the ring's buffer table (fdinfo) holds the pool's first slot:
 * seen on every kernel, where VmPin shows a leftover registration only on
 * those that charge a ring again. */
static bool ring_holds_pool(int fd)
{
	static char table[1 << 16];
	char hex[32];

	t_ring_table(fd, table, sizeof(table));
	snprintf(hex, sizeof(hex), "0x%llx/",
		 (unsigned long long)(uintptr_t)regbuf_pool_base(attach_pool));
	return strstr(table, hex) != NULL;
}

static int op_detach(void **st)
{
	int ret = regbuf_pool_attach(attach_pool, attach_ring.ring_fd, 2);

	*st = NULL;
	if (ret < 0)
		return ret;
	CHECK(ring_holds_pool(attach_ring.ring_fd));
	ret = regbuf_pool_detach(attach_pool, attach_ring.ring_fd);
	if (ret) {
		char why[256];

		snprintf(why, sizeof(why), "%s", regbuf_last_error());
		CHECK_EQ(regbuf_pool_detach(attach_pool, attach_ring.ring_fd),
			 0);
		CHECK(!ring_holds_pool(attach_ring.ring_fd));
		return rb_err(ret, "%s", why);
	}
	/* detached means emptied: a fault must not make it forget a ring
	 * that still holds the slots */
	CHECK(!ring_holds_pool(attach_ring.ring_fd));
	return 0;
}

/* A pool with a ring attached, destroyed: whatever fails inside destroy,
 * everything is released. */
static int op_destroy(void **st)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	struct io_uring r;
	int ret;

	*st = NULL;
	regbuf_pool_opts_init(&o);
	o.size = op_size / 2; /* twice that where attach registers again */
	ret = regbuf_pool_create(&o, &p);
	if (ret)
		return ret;
	if (io_uring_queue_init(2, &r, 0)) {
		regbuf_pool_destroy(p);
		return -ENOMEM;
	}
	regbuf_pool_attach(p, r.ring_fd, 0);
	regbuf_pool_destroy(p);
	io_uring_queue_exit(&r);
	return 0;
}
static void undo_nothing(void *st)
{
	(void)st;
}

static int op_alloc_big(void **st)
{
	struct regbuf_buf *b = calloc(1, sizeof(*b));
	/* 3 MiB of the 8 MiB pool: above every class */
	int ret = regbuf_alloc(attach_pool,
			       regbuf_pool_size(attach_pool) / 8 * 3, 0, b);

	if (ret)
		free(b);
	*st = ret ? NULL : b;
	return ret;
}
static void undo_alloc(void *st)
{
	regbuf_free(attach_pool, st);
	free(st);
}

/*
 * A fresh pool: small and large buffers, freed with holes between them
 * (so that the free extents outgrow their first array), and more 512 B
 * blocks than the class's first spans had room for in its free stack;
 * then the whole pool must fit in one buffer again. A free cannot fail,
 * so a fault that fired before that last allocation must not have cost
 * any space.
 */
enum { CHURN = 24, BLOCKS = 800 };
static struct regbuf_buf blocks[BLOCKS];
static int op_churn(void **st)
{
	struct regbuf_buf b[CHURN], small, whole;
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	unsigned n = 0, nb = 0;
	bool fired;
	int ret;

	regbuf_pool_opts_init(&o);
	o.size = 4 << 20;
	o.backing = REGBUF_BACKING_PAGES;
	o.flags = REGBUF_POOL_NO_REGISTER;
	ret = regbuf_pool_create(&o, &p);
	if (ret)
		return ret;
	ret = regbuf_alloc(p, 4096, 0, &small);
	if (ret)
		goto out;
	while (n < CHURN && !(ret = regbuf_alloc(p, 132 << 10, 0, &b[n])))
		n++;
	if (ret) {
		while (n)
			CHECK_EQ(regbuf_free(p, &b[--n]), 0);
		CHECK_EQ(regbuf_free(p, &small), 0);
		goto out;
	}
	for (unsigned i = 1; i < CHURN; i += 2)
		CHECK_EQ(regbuf_free(p, &b[i]), 0);
	for (unsigned i = 0; i < CHURN; i += 2)
		CHECK_EQ(regbuf_free(p, &b[i]), 0);
	CHECK_EQ(regbuf_free(p, &small), 0);
	while (nb < BLOCKS && !(ret = regbuf_alloc(p, 512, 0, &blocks[nb])))
		nb++;
	while (nb)
		CHECK_EQ(regbuf_free(p, &blocks[--nb]), 0);
	if (ret)
		goto out;
	fired = rb_sys_fault_fired();
	ret = regbuf_alloc(p, 4 << 20, 0, &whole);
	if (ret && fired) {
		fprintf(stderr,
			"alloc and free: after a fault the whole pool "
			"no longer fits: %s\n",
			regbuf_last_error());
		exit(1);
	}
	if (!ret)
		CHECK_EQ(regbuf_free(p, &whole), 0);
out:
	if (ret) {
		regbuf_pool_destroy(p);
		return ret;
	}
	*st = p;
	return 0;
}

/* The folio map of a range, part THP, part 4 KiB pages, and its plan. */
static char *map_mem;
static int op_map(void **st)
{
	struct regbuf_plan_slot slots[8];
	struct regbuf_map *m;
	int ret;

	ret = regbuf_map_create(0, (uint64_t)(uintptr_t)map_mem, 8 << 20, &m);
	if (ret)
		return ret;
	ret = regbuf_plan(m, 0, slots, 8);
	if (ret < 0) {
		regbuf_map_destroy(m);
		return ret;
	}
	*st = m;
	return 0;
}
static void undo_map(void *st)
{
	regbuf_map_destroy(st);
}

struct op {
	const char *name;
	op_fn run;
	undo_fn undo;
};

static const struct op ops[] = {
	{"create auto", op_auto, undo_pool},
	{"create 2m", op_2m, undo_pool},
	{"create thp", op_thp, undo_pool},
	{"create 4k", op_4k, undo_pool},
	{"create shared 2m", op_shared, undo_pool},
	{"create shared 4k", op_shared_4k, undo_pool},
	{"adopt", op_adopt, undo_pool},
	{"import", op_import, undo_import},
	{"attach", op_attach, undo_attach},
	{"alloc", op_alloc_big, undo_alloc},
	{"alloc and free", op_churn, undo_pool},
	{"map and plan", op_map, undo_map},
	{"detach", op_detach, undo_nothing},
	{"destroy", op_destroy, undo_nothing},
};

static const int errnos[] = {ENOMEM, EPERM, EFAULT, EINVAL, EBUSY};

int main(void)
{
	unsigned points = 0, failed_ops = 0, fallbacks = 0;
	struct regbuf_pool_opts o;

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	memset(adopt_mem, 1, sizeof(adopt_mem));
	map_mem = mmap(NULL, 10 << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(map_mem != MAP_FAILED);
	map_mem = (char *)(((uintptr_t)map_mem + (2 << 20) - 1) &
			   ~(uintptr_t)((2 << 20) - 1));
	madvise(map_mem + (2 << 20), 6 << 20, MADV_HUGEPAGE);
	memset(map_mem, 1, 8 << 20);
	regbuf_pool_opts_init(&o);
	/* attach_pool, and beside it one pool at a time (op_size): 8 MiB
	 * each, or 2 and 4 MiB where RLIMIT_MEMLOCK is enforced */
	o.size = t_fit(8 << 20, 2 << 20, 2 << 20, 4 << 20);
	CHECK_EQ(regbuf_pool_create(&o, &attach_pool), 0);
	op_size = t_fit(8 << 20, 4 << 20, 2 << 20, 0);
	CHECK_EQ(io_uring_queue_init(4, &attach_ring, 0), 0);

	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		unsigned long count[RB_SYS_NR], reg[RB_REGISTER_NR_OPS];
		unsigned long c0[RB_SYS_NR], r0[RB_REGISTER_NR_OPS];
		void *st = NULL;
		struct t_held before = t_held_now();

		/* A clean run tells how many calls of each kind it makes. */
		for (int k = 0; k < RB_SYS_NR; k++)
			c0[k] = rb_sys_count(k, -1);
		for (int r = 0; r < RB_REGISTER_NR_OPS; r++)
			r0[r] = rb_sys_count(RB_SYS_REGISTER, r);
		if (ops[i].run(&st)) {
			printf("  %s: not possible here (%s), skipped\n",
			       ops[i].name, regbuf_last_error());
			CHECK_HELD_SAME(before);
			continue;
		}
		for (int k = 0; k < RB_SYS_NR; k++)
			count[k] = rb_sys_count(k, -1) - c0[k];
		for (int r = 0; r < RB_REGISTER_NR_OPS; r++)
			reg[r] = rb_sys_count(RB_SYS_REGISTER, r) - r0[r];
		ops[i].undo(st);
		CHECK_HELD_SAME(before);

		for (int k = 0; k < RB_SYS_NR; k++) {
			for (int r = -1; r < RB_REGISTER_NR_OPS; r++) {
				unsigned long n = r < 0 ? count[k] : reg[r];

				if (r >= 0 && k != RB_SYS_REGISTER)
					break;
				if (k == RB_SYS_REGISTER && r < 0)
					continue; /* per opcode below */
				for (unsigned long nth = 1; nth <= n; nth++) {
					int e = errnos[(nth +
							(unsigned long)k) %
						       (sizeof(errnos) /
							sizeof(errnos[0]))];
					int ret;

					before = t_held_now();
					rb_sys_fault(k, r, nth, e);
					st = NULL;
					ret = ops[i].run(&st);
					rb_sys_fault_clear();
					points++;
					if (ret == -ENOMEM &&
					    k == RB_SYS_HEAP &&
					    rb_sys_fault_fired() &&
					    !strstr(regbuf_last_error(),
						    "heap")) {
						/* the lowest layer's words,
						 * not a caller's */
						fprintf(stderr,
							"%s: heap fault #%lu: \"%s\" does not say heap\n",
							ops[i].name, nth,
							regbuf_last_error());
						exit(1);
					}
					if (ret) {
						failed_ops++;
						if (ret > 0 ||
						    !regbuf_last_error()[0]) {
							fprintf(stderr,
								"%s: fault in "
								"%s#%lu (op "
								"%d): "
								"ret %d, no "
								"explanation\n",
								ops[i].name,
								rb_sys_kind_name(
									k),
								nth, r, ret);
							exit(1);
						}
					} else {
						fallbacks++;
						ops[i].undo(st);
					}
					if (!t_held_same(t_held_settled(before),
							 before)) {
						fprintf(stderr,
							"%s: fault in %s#%lu "
							"(op %d): ret %d\n",
							ops[i].name,
							rb_sys_kind_name(k),
							nth, r, ret);
					}
					CHECK_HELD_SAME(before);
				}
			}
		}
		printf("  %s: calls", ops[i].name);
		for (int k = 0; k < RB_SYS_NR; k++)
			if (count[k])
				printf(" %s=%lu", rb_sys_kind_name(k),
				       count[k]);
		printf("\n");
	}
	io_uring_queue_exit(&attach_ring);
	regbuf_pool_destroy(attach_pool);
	printf("%u fault points exercised: %u made the call fail cleanly, "
	       "%u were absorbed by a fallback; nothing leaked\n",
	       points, failed_ops, fallbacks);
	CHECK(points > 50);
	return 0;
}
