/* SPDX-License-Identifier: MIT */
/*
 * Bad input to every public function, one table row per case. Each row
 * must return its documented -errno, leave an explanation in
 * regbuf_last_error(), print nothing on stdout, and change nothing: VmPin,
 * fds, mappings, the pools' attachments and bytes in use, and the buffer
 * tables of the rings (read from /proc/self/fdinfo) are compared before
 * and after every row.
 */
#include <dirent.h>
#include <liburing.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "harness.h"

static struct regbuf_pool *P, *Q; /* P attached to r1; Q another pool */
static struct io_uring r1, r2;	  /* r2: never attached */
static int pipe_r, closed_fd, q_anchor;
static struct regbuf_buf held;	/* a live buffer of P */
static struct regbuf_buf q_buf; /* a live buffer of Q */
static struct regbuf_map *map;	/* of P's memory */
static struct regbuf_pool *D;	/* destroyed */
static uint64_t fake_pool[64];	/* not a pool */

struct state {
	struct t_held h;
	uint32_t p_att, q_att;
	uint64_t p_use, q_use;
	char r1[2048], r2[2048];
};

static struct state snap(void)
{
	struct state s;
	struct regbuf_pool_info pi = {.struct_size = sizeof(pi)};
	struct regbuf_alloc_stats as = {.struct_size = sizeof(as)};

	s.h = t_held_now();
	CHECK_EQ(regbuf_pool_info(P, &pi), 0);
	s.p_att = pi.nr_attached;
	CHECK_EQ(regbuf_pool_info(Q, &pi), 0);
	s.q_att = pi.nr_attached;
	CHECK_EQ(regbuf_alloc_stats(P, &as), 0);
	s.p_use = as.bytes_in_use;
	CHECK_EQ(regbuf_alloc_stats(Q, &as), 0);
	s.q_use = as.bytes_in_use;
	t_ring_table(r1.ring_fd, s.r1, sizeof(s.r1));
	t_ring_table(r2.ring_fd, s.r2, sizeof(s.r2));
	return s;
}

/* An io_uring fd of this process that is neither r1 nor r2: Q's anchor
 * (P's anchor was opened before Q's, so take the highest). */
static int find_anchor(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int best = -1;

	CHECK(d);
	while ((e = readdir(d))) {
		char path[300], link[64] = "";
		int fd = atoi(e->d_name);

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		if (readlink(path, link, sizeof(link) - 1) > 0 &&
		    strstr(link, "io_uring") && fd != r1.ring_fd &&
		    fd != r2.ring_fd && fd > best)
			best = fd;
	}
	closedir(d);
	return best;
}

typedef long (*case_fn)(void);

struct row {
	const char *what;
	case_fn fn;
	long want;
};

#define ROW(name, want, expr)        \
	static long name(void)       \
	{                            \
		return (long)(expr); \
	}
#define ALLOC_ARGS(pool, len, align) regbuf_alloc(pool, len, align, &tmp)

static struct regbuf_buf tmp;
static struct regbuf_pool *out_pool;
static struct regbuf_bufring *out_br;
static struct regbuf_map *out_map;

static long c_forged_free(void)
{
	struct regbuf_buf f = held;

	f.cookie ^= 0x5a5a;
	return regbuf_free(P, &f);
}
static long c_moved_free(void)
{
	struct regbuf_buf f = held;

	f.addr = (char *)f.addr + 4096;
	return regbuf_free(P, &f);
}
static long c_foreign_free(void)
{
	struct regbuf_buf f = q_buf;

	return regbuf_free(P, &f);
}
static long c_double_free(void)
{
	struct regbuf_buf a;
	int ret = regbuf_alloc(P, 8192, 0, &a);

	if (ret)
		return ret;
	regbuf_free(P, &a);
	return regbuf_free(P, &a);
}
static long c_opts(int field)
{
	struct regbuf_pool_opts o;

	regbuf_pool_opts_init(&o);
	o.size = 4 << 20;
	switch (field) {
	case 0:
		o.struct_size = 4;
		break;
	case 1:
		o.size = 0;
		break;
	case 2:
		o.size = ~0ULL - 4095;
		break;
	case 3:
		o.flags = 1U << 31;
		break;
	case 4:
		o.backing = 99;
		break;
	case 5:
		o.reserved[0] = 7;
		break;
	case 6:
		o.numa_node = 4096;
		break;
	case 7:
		o.max_slot_size = 12345;
		break;
	case 8:
		o.populate_threads = 100000;
		break;
	case 9:
		o.numa_node = 1023; /* in range, but no machine here has it */
		break;
	}
	return regbuf_pool_create(&o, &out_pool);
}
static long c_opts0(void)
{
	return c_opts(0);
}
static long c_opts1(void)
{
	return c_opts(1);
}
static long c_opts2(void)
{
	return c_opts(2);
}
static long c_opts3(void)
{
	return c_opts(3);
}
static long c_opts4(void)
{
	return c_opts(4);
}
static long c_opts5(void)
{
	return c_opts(5);
}
static long c_opts6(void)
{
	return c_opts(6);
}
static long c_opts7(void)
{
	return c_opts(7);
}
static long c_opts9(void)
{
	return c_opts(9);
}
static long c_opts8(void)
{
	return c_opts(8);
}
static long c_info_size(void)
{
	struct regbuf_pool_info i = {.struct_size = 4};

	return regbuf_pool_info(P, &i);
}
static long c_features_size(void)
{
	struct regbuf_features f = {.struct_size = 1};

	return regbuf_features_get(&f);
}
static long c_machine_size(void)
{
	struct regbuf_machine m = {.struct_size = 1};

	return regbuf_machine_get(&m);
}
static long c_slot(void)
{
	struct regbuf_slot_info s = {.struct_size = sizeof(s)};

	return regbuf_pool_slot(P, 1u << 30, &s);
}
static long c_slot_of(void)
{
	struct regbuf_slot_info s = {.struct_size = sizeof(s)};

	return regbuf_pool_slot_of(P, (char *)regbuf_pool_base(P) - 1, &s);
}
static long c_slot_of_end(void)
{
	struct regbuf_slot_info s = {.struct_size = sizeof(s)};

	return regbuf_pool_slot_of(
		P, (char *)regbuf_pool_base(P) + regbuf_pool_size(P), &s);
}
static long c_predict(int k)
{
	struct iovec v = {regbuf_pool_base(P), 4096};
	struct regbuf_prediction pr;

	switch (k) {
	case 0:
		return regbuf_predict(NULL, &v, 1, &pr);
	case 1:
		return regbuf_predict(map, NULL, 1, &pr);
	case 2:
		return regbuf_predict(map, &v, 1, NULL);
	case 3:
		return regbuf_predict(map, &v, 0, &pr);
	case 4:
		v.iov_len = 0;
		return regbuf_predict(map, &v, 1, &pr);
	case 5:
		v.iov_len = 1ULL << 40; /* more than any kernel takes */
		return regbuf_predict(map, &v, 1, &pr);
	case 6:
		v.iov_base = (char *)v.iov_base + regbuf_pool_size(P);
		return regbuf_predict(map, &v, 1, &pr);
	}
	return 0;
}
static long c_pred0(void)
{
	return c_predict(0);
}
static long c_pred1(void)
{
	return c_predict(1);
}
static long c_pred2(void)
{
	return c_predict(2);
}
static long c_pred3(void)
{
	return c_predict(3);
}
static long c_pred4(void)
{
	return c_predict(4);
}
static long c_pred5(void)
{
	return c_predict(5);
}
static long c_pred6(void)
{
	return c_predict(6);
}
static long c_plan_slot(void)
{
	struct regbuf_plan_slot s[4];

	return regbuf_plan(map, 4097, s, 4);
}
static long c_bufring_opts(void)
{
	struct regbuf_bufring_opts o;

	regbuf_bufring_opts_init(&o);
	o.nbufs = 8;
	o.buf_size = 4096;
	o.reserved[3] = 1;
	return regbuf_bufring_create_opts(P, r1.ring_fd, &o, &out_br);
}
static long c_take_null(void)
{
	return regbuf_bufring_take(NULL, 0, 0, &tmp, 1);
}
static long c_recycle_null(void)
{
	return regbuf_bufring_recycle(NULL, &tmp);
}
static long c_bufring_stats(void)
{
	struct regbuf_bufring_stats st = {.struct_size = sizeof(st)};

	return regbuf_bufring_stats(NULL, &st);
}
static long c_parse(void)
{
	return regbuf_backing_parse("gigantic");
}
static long c_parse_null(void)
{
	return regbuf_backing_parse(NULL);
}
static long c_base_null(void)
{
	return regbuf_pool_base((struct regbuf_pool *)fake_pool) ? 0 : -1;
}
static long c_size_null(void)
{
	return regbuf_pool_size(NULL) ? 0 : -1;
}
static long c_names(void)
{
	/* Unknown values give "?" or NULL, never a crash. */
	const char *a = regbuf_backing_name(-7),
		   *b = regbuf_cost_class_name(99),
		   *c = regbuf_run_kind_name(99),
		   *d = regbuf_map_source_name(-1),
		   *e = regbuf_attach_method_name(0),
		   *f = regbuf_feature_name(0);

	return (a && b && c && d && e && !f) ? -1 : 0;
}

ROW(c_alloc_null_pool, -EINVAL, ALLOC_ARGS(NULL, 4096, 0))
ROW(c_alloc_fake_pool, -EINVAL,
    ALLOC_ARGS((struct regbuf_pool *)fake_pool, 4096, 0))
ROW(c_alloc_null_buf, -EINVAL, regbuf_alloc(P, 4096, 0, NULL))
ROW(c_alloc_zero, -EINVAL, ALLOC_ARGS(P, 0, 0))
ROW(c_alloc_huge, -EINVAL, ALLOC_ARGS(P, (size_t)1 << 40, 0))
ROW(c_alloc_too_big, -EINVAL, ALLOC_ARGS(P, (size_t)1 << 30, 0))
ROW(c_alloc_align3, -EINVAL, ALLOC_ARGS(P, 4096, 3))
ROW(c_alloc_align_big, -EINVAL, ALLOC_ARGS(P, 4096, 1 << 30))
ROW(c_free_null_pool, -EINVAL, regbuf_free(NULL, &held))
ROW(c_free_null_buf, -EINVAL, regbuf_free(P, NULL))
ROW(c_stats_null, -EINVAL, regbuf_alloc_stats(NULL, NULL))
ROW(c_stats_null2, -EINVAL, regbuf_alloc_stats(P, NULL))
ROW(c_create_null, -EINVAL, regbuf_pool_create(NULL, &out_pool))
ROW(c_create_null_out, -EINVAL, regbuf_pool_create(NULL, NULL))
ROW(c_adopt_null, -EINVAL, regbuf_pool_adopt(NULL, 4096, NULL, &out_pool))
ROW(c_adopt_zero, -EINVAL,
    regbuf_pool_adopt(regbuf_pool_base(P), 0, NULL, &out_pool))
ROW(c_adopt_unaligned, -EINVAL,
    regbuf_pool_adopt((char *)regbuf_pool_base(P) + 1, 4096, NULL, &out_pool))
ROW(c_adopt_wrap, -EOVERFLOW,
    regbuf_pool_adopt((void *)(uintptr_t)-8192, 16384, NULL, &out_pool))
ROW(c_adopt_unmapped, -EFAULT,
    regbuf_pool_adopt((void *)0x10000, 4096, NULL, &out_pool))
ROW(c_import_closed, -EBADF, regbuf_pool_import(closed_fd, NULL, &out_pool))
ROW(c_import_pipe, -EINVAL, regbuf_pool_import(pipe_r, NULL, &out_pool))
ROW(c_import_ring, -EINVAL, regbuf_pool_import(r1.ring_fd, NULL, &out_pool))
ROW(c_fd_not_shared, -EINVAL, regbuf_pool_fd(P))
ROW(c_fd_null, -EINVAL, regbuf_pool_fd(NULL))
ROW(c_info_null, -EINVAL, regbuf_pool_info(NULL, NULL))
ROW(c_slot_null, -EINVAL, regbuf_pool_slot(P, 0, NULL))
ROW(c_slot_of_null, -EINVAL, regbuf_pool_slot_of(NULL, NULL, NULL))
ROW(c_features_null, -EINVAL, regbuf_features_get(NULL))
ROW(c_machine_null, -EINVAL, regbuf_machine_get(NULL))
ROW(c_attach_null, -EINVAL, regbuf_pool_attach(NULL, r2.ring_fd, 0))
ROW(c_attach_fake, -EINVAL,
    regbuf_pool_attach((struct regbuf_pool *)fake_pool, r2.ring_fd, 0))
ROW(c_attach_neg, -EBADF, regbuf_pool_attach(P, -1, 0))
ROW(c_attach_closed, -EBADF, regbuf_pool_attach(P, closed_fd, 0))
ROW(c_attach_pipe, -EOPNOTSUPP, regbuf_pool_attach(P, pipe_r, 0))
ROW(c_attach_slot_past, -EINVAL, regbuf_pool_attach(P, r2.ring_fd, 16384))
ROW(c_attach_slot_wrap, -EINVAL, regbuf_pool_attach(P, r2.ring_fd, ~0u))
ROW(c_attach_slot_end, -EINVAL, regbuf_pool_attach(P, r2.ring_fd, 16383))
ROW(c_attach_twice, -EEXIST, regbuf_pool_attach(P, r1.ring_fd, 0))
ROW(c_attach_twice_other, -EEXIST, regbuf_pool_attach(P, r1.ring_fd, 100))
ROW(c_attach_anchor, -EINVAL, regbuf_pool_attach(P, q_anchor, 0))
ROW(c_detach_null, -EINVAL, regbuf_pool_detach(NULL, r1.ring_fd))
ROW(c_detach_stranger, -ENOENT, regbuf_pool_detach(P, r2.ring_fd))
ROW(c_detach_other_pool, -ENOENT, regbuf_pool_detach(Q, r1.ring_fd))
ROW(c_detach_pipe, -ENOENT, regbuf_pool_detach(P, pipe_r))
ROW(c_detach_closed, -ENOENT, regbuf_pool_detach(P, closed_fd))
ROW(c_detach_anchor, -ENOENT, regbuf_pool_detach(P, q_anchor))
ROW(c_map_null, -EINVAL,
    regbuf_map_create(0, (uint64_t)(uintptr_t)regbuf_pool_base(P), 4096, NULL))
ROW(c_map_zero, -EINVAL,
    regbuf_map_create(0, (uint64_t)(uintptr_t)regbuf_pool_base(P), 0, &out_map))
ROW(c_map_wrap, -EOVERFLOW, regbuf_map_create(0, ~0ULL - 4095, 8192, &out_map))
ROW(c_map_unmapped, -EFAULT, regbuf_map_create(0, 0x10000, 4096, &out_map))
ROW(c_map_nopid, -ESRCH, regbuf_map_create(999999999, 0x10000, 4096, &out_map))
ROW(c_map_negpid, -EINVAL, regbuf_map_create(-5, 0x10000, 4096, &out_map))
ROW(c_plan_null, -EINVAL, regbuf_plan(NULL, 0, NULL, 0))
ROW(c_bufring_null, -EINVAL,
    regbuf_bufring_create(NULL, r1.ring_fd, 1, 8, 4096, 0, &out_br))
ROW(c_bufring_nbufs, -EINVAL,
    regbuf_bufring_create(P, r1.ring_fd, 1, 6, 4096, 0, &out_br))
ROW(c_bufring_big, -EINVAL,
    regbuf_bufring_create(P, r1.ring_fd, 1, 8, 1u << 31, 0, &out_br))
ROW(c_bufring_closed, -EBADF,
    regbuf_bufring_create(P, closed_fd, 1, 8, 4096, 0, &out_br))
ROW(c_bufring_pipe, -EBADF,
    regbuf_bufring_create(P, pipe_r, 1, 8, 4096, 0, &out_br))
ROW(c_bufring_bgid, -EINVAL, regbuf_bufring_bgid(NULL))
ROW(c_dead_info, -EINVAL,
    regbuf_pool_info(D,
		     &(struct regbuf_pool_info){
			     .struct_size = sizeof(struct regbuf_pool_info)}))
ROW(c_dead_attach, -EINVAL, regbuf_pool_attach(D, r2.ring_fd, 0))
ROW(c_dead_detach, -EINVAL, regbuf_pool_detach(D, r1.ring_fd))
ROW(c_dead_grow, -EINVAL, regbuf_pool_grow(D, 1 << 20))
ROW(c_dead_stats, -EINVAL,
    regbuf_alloc_stats(D, &(struct regbuf_alloc_stats){0}))
ROW(c_dead_fd, -EINVAL, regbuf_pool_fd(D))
ROW(c_dead_bufring, -EINVAL,
    regbuf_bufring_create(D, r1.ring_fd, 1, 8, 4096, 0, &out_br))
static long c_dead_destroy(void)
{
	regbuf_pool_destroy(D); /* again: ignored */
	/* still dead to the calls that check (not base/size: those check
	 * only that it looks like a pool, see regbuf_pool_info(3)) */
	return regbuf_pool_fd(D) == -EINVAL ? -1 : 0;
}
ROW(c_bufring_destroy, -EINVAL, regbuf_bufring_destroy(NULL))

static const struct row rows[] = {
	{"alloc: NULL pool", c_alloc_null_pool, -EINVAL},
	{"alloc: not a pool", c_alloc_fake_pool, -EINVAL},
	{"alloc: NULL handle", c_alloc_null_buf, -EINVAL},
	{"alloc: 0 bytes", c_alloc_zero, -EINVAL},
	{"alloc: 1 TiB", c_alloc_huge, -EINVAL},
	{"alloc: larger than any slot", c_alloc_too_big, -EINVAL},
	{"alloc: alignment 3", c_alloc_align3, -EINVAL},
	{"alloc: alignment 1 GiB", c_alloc_align_big, -EINVAL},
	{"free: NULL pool", c_free_null_pool, -EINVAL},
	{"free: NULL handle", c_free_null_buf, -EINVAL},
	{"free: forged cookie", c_forged_free, -EINVAL},
	{"free: moved address", c_moved_free, -EINVAL},
	{"free: another pool's handle", c_foreign_free, -EINVAL},
	{"free: double free", c_double_free, -EINVAL},
	{"alloc_stats: NULL pool", c_stats_null, -EINVAL},
	{"alloc_stats: NULL stats", c_stats_null2, -EINVAL},
	{"create: NULL opts", c_create_null, -EINVAL},
	{"create: NULL out", c_create_null_out, -EINVAL},
	{"create: struct_size 4", c_opts0, -EINVAL},
	{"create: size 0", c_opts1, -EINVAL},
	{"create: size overflows", c_opts2, -EOVERFLOW},
	{"create: unknown flag", c_opts3, -EINVAL},
	{"create: unknown backing", c_opts4, -EINVAL},
	{"create: reserved field", c_opts5, -EINVAL},
	{"create: NUMA node 4096", c_opts6, -EINVAL},
	{"create: max slot 12345", c_opts7, -EINVAL},
	{"create: 100000 populate threads", c_opts8, -EINVAL},
	{"create: a NUMA node the machine lacks", c_opts9, -EINVAL},
	{"adopt: NULL", c_adopt_null, -EINVAL},
	{"adopt: 0 bytes", c_adopt_zero, -EINVAL},
	{"adopt: unaligned", c_adopt_unaligned, -EINVAL},
	{"adopt: wraps", c_adopt_wrap, -EOVERFLOW},
	{"adopt: unmapped", c_adopt_unmapped, -EFAULT},
	{"import: closed fd", c_import_closed, -EBADF},
	{"import: a pipe", c_import_pipe, -EINVAL},
	{"import: a ring", c_import_ring, -EINVAL},
	{"pool_fd: not SHARED", c_fd_not_shared, -EINVAL},
	{"pool_fd: NULL", c_fd_null, -EINVAL},
	{"pool_info: NULL", c_info_null, -EINVAL},
	{"pool_info: struct_size 4", c_info_size, -EINVAL},
	{"pool_slot: index 2^30", c_slot, -ERANGE},
	{"pool_slot: NULL", c_slot_null, -EINVAL},
	{"pool_slot_of: below the pool", c_slot_of, -EFAULT},
	{"pool_slot_of: at the end", c_slot_of_end, -EFAULT},
	{"pool_slot_of: NULL", c_slot_of_null, -EINVAL},
	{"pool_base: not a pool", c_base_null, -1},
	{"pool_size: NULL", c_size_null, -1},
	{"features_get: NULL", c_features_null, -EINVAL},
	{"features_get: size 1", c_features_size, -EINVAL},
	{"machine_get: NULL", c_machine_null, -EINVAL},
	{"machine_get: size 1", c_machine_size, -EINVAL},
	{"attach: NULL pool", c_attach_null, -EINVAL},
	{"attach: not a pool", c_attach_fake, -EINVAL},
	{"attach: fd -1", c_attach_neg, -EBADF},
	{"attach: closed fd", c_attach_closed, -EBADF},
	{"attach: a pipe", c_attach_pipe, -EOPNOTSUPP},
	{"attach: first slot 16384", c_attach_slot_past, -EINVAL},
	{"attach: first slot wraps", c_attach_slot_wrap, -EINVAL},
	{"attach: slots past 16384", c_attach_slot_end, -EINVAL},
	{"attach: twice", c_attach_twice, -EEXIST},
	{"attach: twice, other slots", c_attach_twice_other, -EEXIST},
	{"attach: another pool's anchor", c_attach_anchor, -EINVAL},
	{"detach: NULL pool", c_detach_null, -EINVAL},
	{"detach: a stranger ring", c_detach_stranger, -ENOENT},
	{"detach: another pool's ring", c_detach_other_pool, -ENOENT},
	{"detach: a pipe", c_detach_pipe, -ENOENT},
	{"detach: closed fd", c_detach_closed, -ENOENT},
	{"detach: another pool's anchor", c_detach_anchor, -ENOENT},
	{"map_create: NULL out", c_map_null, -EINVAL},
	{"map_create: 0 bytes", c_map_zero, -EINVAL},
	{"map_create: wraps", c_map_wrap, -EOVERFLOW},
	{"map_create: unmapped", c_map_unmapped, -EFAULT},
	{"map_create: no such pid", c_map_nopid, -ESRCH},
	{"map_create: pid -5", c_map_negpid, -EINVAL},
	{"predict: NULL map", c_pred0, -EINVAL},
	{"predict: NULL buffers", c_pred1, -EINVAL},
	{"predict: NULL out", c_pred2, -EINVAL},
	{"predict: 0 buffers", c_pred3, -EINVAL},
	{"predict: 0-byte buffer", c_pred4, -EINVAL},
	{"predict: 1 TiB buffer", c_pred5, -EINVAL},
	{"predict: outside the map", c_pred6, -EFAULT},
	{"plan: NULL map", c_plan_null, -EINVAL},
	{"plan: max slot 4097", c_plan_slot, -EINVAL},
	{"bufring: NULL pool", c_bufring_null, -EINVAL},
	{"bufring: 6 buffers", c_bufring_nbufs, -EINVAL},
	{"bufring: 2 GiB buffers", c_bufring_big, -EINVAL},
	{"bufring: closed fd", c_bufring_closed, -EBADF},
	{"bufring: a pipe", c_bufring_pipe, -EBADF},
	{"bufring: reserved field", c_bufring_opts, -EINVAL},
	{"bufring_take: NULL", c_take_null, -EINVAL},
	{"bufring_recycle: NULL", c_recycle_null, -EINVAL},
	{"bufring_stats: NULL", c_bufring_stats, -EINVAL},
	{"bufring_bgid: NULL", c_bufring_bgid, -EINVAL},
	{"bufring_destroy: NULL", c_bufring_destroy, -EINVAL},
	{"backing_parse: unknown", c_parse, -EINVAL},
	{"backing_parse: NULL", c_parse_null, -EINVAL},
	{"*_name: unknown values", c_names, -1},
	{"use after destroy: pool_info", c_dead_info, -EINVAL},
	{"use after destroy: attach", c_dead_attach, -EINVAL},
	{"use after destroy: detach", c_dead_detach, -EINVAL},
	{"use after destroy: grow", c_dead_grow, -EINVAL},
	{"use after destroy: alloc_stats", c_dead_stats, -EINVAL},
	{"use after destroy: pool_fd", c_dead_fd, -EINVAL},
	{"use after destroy: bufring_create", c_dead_bufring, -EINVAL},
	{"use after destroy: destroy again", c_dead_destroy, -1},
};

int main(void)
{
	struct regbuf_pool_opts o;
	char outpath[] = "/tmp/regbuf-stdout-XXXXXX";
	int outfd, saved, pfd[2];
	unsigned n = sizeof(rows) / sizeof(rows[0]);

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	regbuf_pool_opts_init(&o);
	/* P and Q, and P again where attach registers (no clone): 16 MiB each
	 * or what RLIMIT_MEMLOCK leaves; four slots each */
	o.size = t_fit(16 << 20, 2 << 20, 2 << 20, 4 << 20);
	o.max_slot_size = o.size / 4;
	if (o.max_slot_size < (2 << 20)) /* smaller than a huge page */
		o.backing = REGBUF_BACKING_PAGES;
	CHECK_EQ(regbuf_pool_create(&o, &P), 0);
	CHECK_EQ(regbuf_pool_create(&o, &Q), 0);
	CHECK_EQ(io_uring_queue_init(4, &r1, 0), 0);
	CHECK_EQ(io_uring_queue_init(4, &r2, 0), 0);
	CHECK(regbuf_pool_attach(P, r1.ring_fd, 0) > 0);
	CHECK_EQ(regbuf_alloc(P, 65536, 0, &held), 0);
	CHECK_EQ(regbuf_alloc(Q, 65536, 0, &q_buf), 0);
	CHECK_EQ(regbuf_map_create(0, (uint64_t)(uintptr_t)regbuf_pool_base(P),
				   regbuf_pool_size(P), &map),
		 0);
	CHECK_EQ(pipe(pfd), 0);
	pipe_r = pfd[0];
	{
		struct regbuf_pool_opts d;

		regbuf_pool_opts_init(&d);
		d.size = 64 << 10;
		d.backing = REGBUF_BACKING_PAGES;
		CHECK_EQ(regbuf_pool_create(&d, &D), 0);
		regbuf_pool_destroy(D); /* the rows below use it anyway */
	}
	q_anchor = find_anchor();
	CHECK(q_anchor >= 0);
	memset(fake_pool, 0x5a, sizeof(fake_pool));
	outfd = mkstemp(outpath);
	CHECK(outfd >= 0);
	unlink(outpath);
	/* a number that is not open (high: the rows' dup() takes low ones) */
	for (closed_fd = 900; fcntl(closed_fd, F_GETFD) != -1; closed_fd++)
		;

	for (unsigned i = 0; i < n; i++) {
		struct state before = snap(), after;
		long ret;

		fflush(stdout);
		saved = dup(1);
		dup2(outfd, 1);
		out_pool = (struct regbuf_pool *)0x1;
		out_br = (struct regbuf_bufring *)0x1;
		out_map = (struct regbuf_map *)0x1;
		ret = rows[i].fn();
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
		if (ret != rows[i].want) {
			fprintf(stderr, "%s: returned %ld, want %ld (%s)\n",
				rows[i].what, ret, rows[i].want,
				regbuf_last_error());
			return 1;
		}
		if (rows[i].want < -1 && !regbuf_last_error()[0]) {
			fprintf(stderr, "%s: no explanation\n", rows[i].what);
			return 1;
		}
		CHECK(out_pool == (struct regbuf_pool *)0x1 &&
		      out_br == (struct regbuf_bufring *)0x1 &&
		      out_map == (struct regbuf_map *)0x1);
		CHECK_EQ(lseek(outfd, 0, SEEK_END), 0); /* nothing printed */
		after = snap();
		if (after.p_att != before.p_att ||
		    after.q_att != before.q_att ||
		    after.p_use != before.p_use ||
		    after.q_use != before.q_use ||
		    strcmp(after.r1, before.r1) ||
		    strcmp(after.r2, before.r2)) {
			fprintf(stderr, "%s: pool or ring state changed\n",
				rows[i].what);
			return 1;
		}
		CHECK_HELD_SAME(before.h);
	}
	close(outfd);
	regbuf_map_destroy(map);
	regbuf_free(P, &held);
	regbuf_free(Q, &q_buf);
	CHECK_EQ(regbuf_pool_detach(P, r1.ring_fd), 0);
	io_uring_queue_exit(&r1);
	io_uring_queue_exit(&r2);
	regbuf_pool_destroy(P);
	regbuf_pool_destroy(Q);
	close(pfd[0]);
	close(pfd[1]);
	printf("%u bad-input cases over %s: each returned its errno, printed "
	       "nothing, changed nothing\n",
	       n, "every public function");
	return 0;
}
