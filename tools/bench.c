/* SPDX-License-Identifier: MIT */
/*
 * regbuf bench: each claim measured against what a user would otherwise
 * do, side by side in one run; medians over --repeat runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "regbuf/liburing.h"

const char bench_usage[] =
	"usage: regbuf bench <register|attach|mixed|alloc|io|sink> [options] [--json] [--repeat N]\n"
	"  register [--size S] [--backing 1g|2m|thp|4k]  pool registration vs raw vs naive\n"
	"  attach   [--size S] [--rings N] [--backing B]  attach by clone vs registering per ring\n"
	"  mixed    [--size S]               one mixed-backing buffer vs the plan\n"
	"  alloc    [--threads T] [--planner] regbuf_alloc/free vs malloc vs a mutex free list;\n"
	"                                    fill at the first failure vs best fit (--planner:\n"
	"                                    and vs two placement planners, slow)\n"
	"  io       [--target PATH|auto [--fill]] [--bs B] [--qd Q] [--seconds S]\n"
	"                                    CPU per O_DIRECT read by buffer kind\n"
	"  sink     [--conns C] [--seconds S]  receive-to-file with WRITE_FIXED from\n"
	"                                    the buffer ring vs copying first\n";

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void note(const struct opts *o, const char *fmt, const char *a)
{
	fprintf(o->json ? stderr : stdout, fmt, a);
}

/* iovecs of at most 1 GiB over [p, p + len). */
static unsigned gib_iovecs(void *p, uint64_t len, struct iovec *iov,
			   unsigned max)
{
	unsigned n = 0;

	for (uint64_t off = 0; off < len && n < max; off += 1ULL << 30) {
		iov[n].iov_base = (char *)p + off;
		iov[n].iov_len =
			len - off < (1ULL << 30) ? len - off : 1ULL << 30;
		n++;
	}
	return n;
}

static double time_register(const struct iovec *iov, unsigned n)
{
	struct io_uring ring;
	double t0, ms;

	if (io_uring_queue_init(1, &ring, 0))
		return -1;
	t0 = now_ms();
	if (io_uring_register_buffers(&ring, iov, n)) {
		io_uring_queue_exit(&ring);
		return -1;
	}
	ms = now_ms() - t0;
	io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	return ms;
}

/* Largest size <= want that the backing can hold now, registered copies
 * times at once within what RLIMIT_MEMLOCK leaves (in whole 2 MiB: a huge
 * page is charged whole; the rings' own memory needs a little more). */
static uint64_t fit_size(const struct opts *o, uint64_t want, int backing,
			 unsigned copies)
{
	struct regbuf_machine m = {.struct_size = sizeof(m)};
	uint64_t cap = want, huge, slack = 512 << 10;
	char a[32];

	regbuf_machine_get(&m);
	if (backing == REGBUF_BACKING_HUGE_2M) {
		huge = m.huge_2m.free * (2ULL << 20);
		cap = huge < want ? huge : want;
	} else if (backing == REGBUF_BACKING_HUGE_1G) {
		huge = m.huge_1g.free << 30;
		cap = huge < want ? huge : want;
	}
	if (m.memlock_room != UINT64_MAX) {
		uint64_t room =
			m.memlock_room > slack ? m.memlock_room - slack : 0;

		room = (room / copies) & ~((2ULL << 20) - 1);
		if (cap > room)
			cap = room;
	}
	if (cap < want)
		note(o, "note: using %s, all this machine can give now\n",
		     rb_fmt_size(cap, a, sizeof(a)));
	return cap;
}

/* The one sentence for a benchmark that RLIMIT_MEMLOCK cannot hold. */
static int memlock_short(const char *bench, uint64_t need, uint64_t got)
{
	char a[32], b[32];

	fprintf(stderr,
		"bench %s: needs %s of registered memory, RLIMIT_MEMLOCK "
		"leaves room for %s: raise it (ulimit -l, LimitMEMLOCK=) or "
		"grant CAP_IPC_LOCK\n",
		bench, rb_fmt_size(need, a, sizeof(a)),
		rb_fmt_size(got, b, sizeof(b)));
	return 1;
}

static int bench_register(struct opts *o)
{
	/* the pool, raw and naive registrations at once */
	uint64_t size = fit_size(o, (uint64_t)o->size, o->backing, 3);
	double lib[64], raw[64], naive[64], pop[64];
	struct iovec iov[64];
	unsigned n;
	void *mem;
	int r;

	if (!size)
		return fprintf(stderr, "bench register: no %s memory free\n",
			       regbuf_backing_name(o->backing)),
		       1;
	if (posix_memalign(&mem, 4096, size))
		return 1;
	madvise(mem, size, MADV_NOHUGEPAGE);
	memset(mem, 1, size);
	n = gib_iovecs(mem, size, iov, 64);
	for (r = 0; r < o->repeat; r++) {
		struct regbuf_pool_opts po;
		struct regbuf_pool *pool;
		struct regbuf_pool_info info = {.struct_size = sizeof(info)};
		struct iovec piov[64];

		regbuf_pool_opts_init(&po);
		po.size = size;
		po.backing = o->backing;
		po.flags = REGBUF_POOL_STRICT;
		if (regbuf_pool_create(&po, &pool)) {
			fprintf(stderr, "bench register: %s\n",
				regbuf_last_error());
			free(mem);
			return 1;
		}
		regbuf_pool_info(pool, &info);
		lib[r] = (double)info.register_ns / 1e6;
		pop[r] = (double)info.populate_ns / 1e6;
		raw[r] = time_register(piov, gib_iovecs(regbuf_pool_base(pool),
							regbuf_pool_size(pool),
							piov, 64));
		regbuf_pool_destroy(pool);
		naive[r] = time_register(iov, n);
	}
	free(mem);
	double l = median(lib, r), w = median(raw, r), v = median(naive, r),
	       p = median(pop, r), gib = (double)size / (1 << 30);

	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "register");
		json_u64(&j, "size", size);
		json_str(&j, "backing", regbuf_backing_name(o->backing));
		json_num(&j, "library_ms", l);
		json_num(&j, "raw_ms", w);
		json_num(&j, "naive_ms", v);
		json_num(&j, "populate_ms", p);
		json_num(&j, "library_ms_per_gib", l / gib);
		json_num(&j, "naive_ms_per_gib", v / gib);
		json_num(&j, "library_vs_raw", w > 0 ? l / w : 0);
		json_num(&j, "naive_vs_library", l > 0 ? v / l : 0);
		json_int(&j, "repeat", r);
		json_end(&j);
	} else {
		char a[32];

		printf("register %s, backing %s (median of %d)\n",
		       rb_fmt_size(size, a, sizeof(a)),
		       regbuf_backing_name(o->backing), r);
		printf("  %-34s %9.2f ms  (%.2f ms/GiB)\n", "regbuf pool", l,
		       l / gib);
		printf("  %-34s %9.2f ms  (regbuf/raw %.2fx)\n",
		       "raw REGISTER_BUFFERS, same memory", w,
		       w > 0 ? l / w : 0);
		printf("  %-34s %9.2f ms  (%.1fx slower than regbuf)\n",
		       "naive: posix_memalign 4K + liburing", v,
		       l > 0 ? v / l : 0);
		printf("  %-34s %9.2f ms  (not in the figures above)\n",
		       "populating the pool", p);
	}
	return 0;
}

static int bench_attach(struct opts *o)
{
	/* the pool and one ring registering it again, unless --size says */
	uint64_t size = o->size_set ? (uint64_t)o->size
				    : fit_size(o, (uint64_t)o->size,
					       REGBUF_BACKING_AUTO, 2);
	double att[64], reg[64];
	struct regbuf_pool_opts po;
	struct regbuf_pool *pool;
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct io_uring *rings = calloc((size_t)o->rings, sizeof(*rings));
	struct iovec iov[64];
	unsigned n;
	int method = 0, r;

	regbuf_pool_opts_init(&po);
	po.size = size;
	if (o->backing_set) {
		po.backing = o->backing;
		po.flags = REGBUF_POOL_STRICT;
	}
	if (!size)
		return memlock_short("attach", 2 << 20, 0);
	if (!rings || regbuf_pool_create(&po, &pool)) {
		fprintf(stderr, "bench attach: %s\n", regbuf_last_error());
		return 1;
	}
	regbuf_pool_info(pool, &info);
	n = pool_slot_iovecs(pool, iov, 64);
	for (r = 0; r < o->repeat; r++) {
		double t0, a = 0, g = 0;

		for (int k = 0; k < o->rings; k++)
			io_uring_queue_init(1, &rings[k], 0);
		for (int k = 0; k < o->rings; k++) {
			t0 = now_ms();
			method = regbuf_pool_attach(pool, rings[k].ring_fd, 0);
			a += now_ms() - t0;
			if (method < 0) {
				fprintf(stderr, "bench attach: %s\n",
					regbuf_last_error());
				return 1;
			}
		}
		for (int k = 0; k < o->rings; k++) {
			regbuf_pool_detach(pool, rings[k].ring_fd);
			io_uring_unregister_buffers(&rings[k]);
		}
		for (int k = 0; k < o->rings; k++) {
			t0 = now_ms();
			if (io_uring_register_buffers(&rings[k], iov, n)) {
				fprintf(stderr,
					"bench attach: registering into a ring failed\n");
				return 1;
			}
			g += now_ms() - t0;
			io_uring_unregister_buffers(&rings[k]);
			io_uring_queue_exit(&rings[k]);
		}
		att[r] = a * 1e3 / o->rings;
		reg[r] = g * 1e3 / o->rings;
	}
	double a = median(att, r), g = median(reg, r);

	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "attach");
		json_u64(&j, "size", info.size);
		json_int(&j, "rings", o->rings);
		json_str(&j, "method", regbuf_attach_method_name(method));
		json_str(&j, "backing", regbuf_backing_name(info.backing));
		json_int(&j, "slots", info.nr_registered_slots);
		json_num(&j, "attach_us_per_ring", a);
		json_num(&j, "register_us_per_ring", g);
		json_num(&j, "speedup", a > 0 ? g / a : 0);
		json_str(&j, "attach_cost",
			 regbuf_attach_cost_name(info.attach_cost));
		json_u64(&j, "attach_cost_units", info.attach_cost_units);
		json_int(&j, "repeat", r);
		json_end(&j);
	} else {
		char s[32];

		printf("attach %d rings to a %s %s pool (%u slots, median of %d)\n",
		       o->rings, rb_fmt_size(info.size, s, sizeof(s)),
		       regbuf_backing_name(info.backing),
		       info.nr_registered_slots, r);
		printf("  %-28s %10.1f us per ring\n",
		       regbuf_attach_method_name(method), a);
		printf("  %-28s %10.1f us per ring (%.0fx)\n",
		       "register again per ring", g, a > 0 ? g / a : 0);
		printf("  attach cost class here: %s (%llu units per ring)\n",
		       regbuf_attach_cost_name(info.attach_cost),
		       (unsigned long long)info.attach_cost_units);
	}
	regbuf_pool_destroy(pool);
	free(rings);
	return 0;
}

static int bench_mixed(struct opts *o)
{
	uint64_t size = (uint64_t)o->size, huge = 2ULL << 20;
	double naive[64], planned[64], regonly[64];
	int r, slots = 0;
	void *raw, *mem;
	struct iovec iov[64];
	unsigned n;

	if (!o->size_set) {
		/* the plan and the one buffer at once */
		size = fit_size(o, size, REGBUF_BACKING_AUTO, 2);
		if (size < 4 * huge)
			return memlock_short("mixed", 2 * 4 * huge, 2 * size);
	}
	if (size < 4 * huge || size > (1ULL << 30)) {
		fprintf(stderr, "bench mixed: size must be 8 MiB .. 1 GiB\n");
		return 2;
	}
	raw = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return 1;
	mem = (void *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	/* First 2 MiB in 4 KiB pages, the rest THP. */
	madvise(mem, huge, MADV_NOHUGEPAGE);
	madvise((char *)mem + huge, size - huge, MADV_HUGEPAGE);
	if (madvise(mem, size, 23 /* MADV_POPULATE_WRITE */))
		memset(mem, 1, size);
	n = gib_iovecs(mem, size, iov, 64);
	for (r = 0; r < o->repeat; r++) {
		struct regbuf_pool *pool;
		struct regbuf_pool_info info = {.struct_size = sizeof(info)};
		double t0;

		naive[r] = time_register(iov, n);
		t0 = now_ms();
		if (regbuf_pool_adopt(mem, size, NULL, &pool)) {
			fprintf(stderr, "bench mixed: %s\n",
				regbuf_last_error());
			return 1;
		}
		planned[r] = now_ms() - t0;
		regbuf_pool_info(pool, &info);
		regonly[r] = (double)info.register_ns / 1e6;
		slots = (int)info.nr_slots;
		regbuf_pool_destroy(pool);
	}
	munmap(raw, size + huge);
	double nv = median(naive, r), pl = median(planned, r),
	       ro = median(regonly, r);

	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "mixed");
		json_u64(&j, "size", size);
		json_num(&j, "naive_ms", nv);
		json_num(&j, "planned_ms", pl);
		json_num(&j, "planned_register_ms", ro);
		json_int(&j, "slots", slots);
		json_num(&j, "speedup", pl > 0 ? nv / pl : 0);
		json_int(&j, "repeat", r);
		json_end(&j);
	} else {
		char a[32];

		printf("mixed backing: %s THP with the first 2 MiB in 4 KiB pages (median of %d)\n",
		       rb_fmt_size(size, a, sizeof(a)), r);
		printf("  %-34s %9.2f ms\n", "as one buffer (what users do)",
		       nv);
		printf("  %-34s %9.2f ms  (%.0fx faster; %d slots; register alone %.2f ms)\n",
		       "regbuf plan (map + plan + register)", pl,
		       pl > 0 ? nv / pl : 0, slots, ro);
	}
	return 0;
}

/* ---- alloc ---- */

static const size_t alloc_sizes[] = {4096, 8192,  16384,  65536,
				     4096, 32768, 131072, 4096};
#define NSIZES	  (sizeof(alloc_sizes) / sizeof(alloc_sizes[0]))
#define WINDOW	  8
#define ALLOC_OPS 2000000

struct mfl { /* a plain mutex-protected free list per size */
	pthread_mutex_t lock;
	void **items[NSIZES];
	size_t nr[NSIZES];
};

struct athread {
	int kind; /* 0 regbuf, 1 malloc, 2 mutex free list */
	struct regbuf_pool *pool;
	struct mfl *mfl;
	double ns;
	int err;
};

static int size_idx(size_t s)
{
	for (unsigned i = 0; i < NSIZES; i++)
		if (alloc_sizes[i] == s)
			return (int)i;
	return 0;
}

static void *alloc_worker(void *arg)
{
	struct athread *t = arg;
	struct regbuf_buf live[WINDOW];
	void *lp[WINDOW];
	size_t ls[WINDOW];
	double t0;

	memset(live, 0, sizeof(live));
	memset(lp, 0, sizeof(lp));
	t0 = now_ms();
	for (unsigned i = 0; i < ALLOC_OPS; i++) {
		unsigned w = i % WINDOW;
		size_t sz = alloc_sizes[i % NSIZES];

		if (t->kind == 0) {
			if (live[w].addr && regbuf_free(t->pool, &live[w]))
				t->err++;
			if (regbuf_alloc(t->pool, sz, 0, &live[w]))
				t->err++;
			else
				*(volatile char *)live[w].addr = 1;
		} else if (t->kind == 1) {
			free(lp[w]);
			lp[w] = malloc(sz);
			*(volatile char *)lp[w] = 1;
		} else {
			struct mfl *m = t->mfl;

			pthread_mutex_lock(&m->lock);
			if (lp[w]) {
				int k = size_idx(ls[w]);

				m->items[k][m->nr[k]++] = lp[w];
			}
			int k = size_idx(sz);

			lp[w] = m->nr[k] ? m->items[k][--m->nr[k]] : NULL;
			pthread_mutex_unlock(&m->lock);
			if (!lp[w])
				lp[w] = malloc(sz);
			ls[w] = sz;
			*(volatile char *)lp[w] = 1;
		}
	}
	t->ns = (now_ms() - t0) * 1e6 / ALLOC_OPS;
	for (unsigned w = 0; w < WINDOW; w++) {
		if (t->kind == 0 && live[w].addr)
			regbuf_free(t->pool, &live[w]);
		else if (t->kind == 1)
			free(lp[w]);
		else if (lp[w]) {
			pthread_mutex_lock(&t->mfl->lock);
			int k = size_idx(ls[w]);

			t->mfl->items[k][t->mfl->nr[k]++] = lp[w];
			pthread_mutex_unlock(&t->mfl->lock);
		}
	}
	return NULL;
}

static double run_alloc(int kind, int threads, struct regbuf_pool *pool,
			struct mfl *m, int *err)
{
	pthread_t th[64];
	struct athread at[64];
	double sum = 0;

	for (int i = 0; i < threads; i++) {
		at[i] = (struct athread){.kind = kind, .pool = pool, .mfl = m};
		pthread_create(&th[i], NULL, alloc_worker, &at[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		sum += at[i].ns;
		*err += at[i].err;
	}
	/* Per pair, per thread: time one thread spends on one pair. */
	return sum / threads;
}

/*
 * regbuf_prep_rw_span() over a range across three 1 MiB slots, in ns per
 * piece (SQE): the SQEs are taken back from the ring after each call, so
 * only the preparation is timed. -1 when no pool could be made.
 */
static double time_prep_rw_span(void)
{
	struct regbuf_pool_opts po;
	struct regbuf_pool *pool;
	struct io_uring ring;
	enum { ROUNDS = 200000 };
	double t0, ns = -1;
	char *base;

	regbuf_pool_opts_init(&po);
	po.size = 4 << 20;
	po.backing = REGBUF_BACKING_PAGES;
	po.max_slot_size = 1 << 20;
	po.flags = REGBUF_POOL_NO_REGISTER; /* the lookups are the same */
	if (regbuf_pool_create(&po, &pool))
		return -1;
	if (io_uring_queue_init(8, &ring, 0)) {
		regbuf_pool_destroy(pool);
		return -1;
	}
	base = regbuf_pool_base(pool);
	t0 = now_ms();
	for (int i = 0; i < ROUNDS; i++) {
		int n = regbuf_prep_rw_span(&ring, pool, 0, 0,
					    base + (512 << 10), 2 << 20, 0, 0,
					    0);

		if (n != 3)
			goto out;
		ring.sq.sqe_tail -= (unsigned)n; /* not submitted */
	}
	ns = (now_ms() - t0) * 1e6 / (3.0 * ROUNDS);
out:
	io_uring_queue_exit(&ring);
	regbuf_pool_destroy(pool);
	return ns;
}

static int bench_alloc(struct opts *o)
{
	struct regbuf_pool_opts po;
	struct regbuf_pool *pool;
	struct mfl m;
	double rb[64], ml[64], mf[64];
	int err = 0, r;

	if (o->threads < 1 || o->threads > 64)
		return usage_error("bench", "--threads 1..64");
	regbuf_pool_opts_init(&po);
	/* 256 MiB, or what RLIMIT_MEMLOCK leaves: the working set is 8
	 * buffers of up to 128 KiB per thread and their size classes' spans */
	po.size = fit_size(o, 256ULL << 20, REGBUF_BACKING_AUTO, 1);
	if (po.size < (uint64_t)o->threads * (2 << 20))
		return memlock_short("alloc", (uint64_t)o->threads * (2 << 20),
				     po.size);
	if (regbuf_pool_create(&po, &pool)) {
		fprintf(stderr, "bench alloc: %s\n", regbuf_last_error());
		return 1;
	}
	memset(&m, 0, sizeof(m));
	pthread_mutex_init(&m.lock, NULL);
	for (unsigned i = 0; i < NSIZES; i++)
		m.items[i] = calloc((size_t)WINDOW * 64 * 2, sizeof(void *));
	for (r = 0; r < o->repeat; r++) {
		rb[r] = run_alloc(0, o->threads, pool, NULL, &err);
		ml[r] = run_alloc(1, o->threads, NULL, NULL, &err);
		mf[r] = run_alloc(2, o->threads, NULL, &m, &err);
	}
	double a = median(rb, r), b = median(ml, r), c = median(mf, r);
	double span = time_prep_rw_span();
	struct frag f;

	if (bench_frag(&f, o->planner)) {
		fprintf(stderr, "bench alloc: out of memory\n");
		err++;
	}
	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "alloc");
		json_int(&j, "threads", o->threads);
		json_num(&j, "regbuf_ns_per_pair", a);
		json_num(&j, "malloc_ns_per_pair", b);
		json_num(&j, "mutex_freelist_ns_per_pair", c);
		json_num(&j, "prep_rw_span_ns_per_piece", span);
		json_num(&j, "fill_at_first_failure", f.regbuf.asked);
		json_num(&j, "held_at_first_failure", f.regbuf.held);
		json_num(&j, "best_fit_fill_at_first_failure", f.best_fit);
		json_num(&j, "moving_fill_at_first_failure", f.moving);
		json_num(&j, "view_4k_fill_at_first_failure", f.view_4k);
		json_num(&j, "view_2m_fill_at_first_failure", f.view_2m);
		if (o->planner) {
			json_num(&j, "planner_fill_at_first_failure",
				 f.planner);
			json_num(&j, "foresight_fill_at_first_failure",
				 f.foresight);
		}
		json_int(&j, "fill_seeds", FRAG_SEEDS);
		json_int(&j, "errors", err);
		json_int(&j, "repeat", r);
		json_end(&j);
	} else {
		printf("alloc + free pairs, mixed sizes 4K..128K, %d thread(s) (median of %d)\n",
		       o->threads, r);
		printf("  %-22s %7.1f ns per pair\n", "regbuf", a);
		printf("  %-22s %7.1f ns per pair\n", "glibc malloc/free", b);
		printf("  %-22s %7.1f ns per pair\n", "mutex free list", c);
		printf("  %-22s %7.1f ns per SQE (a range over 3 slots)\n",
		       "regbuf_prep_rw_span", span);
		printf("  mixed 512 B..8 MiB workload on 64 MiB: first failure with %.0f%% of the pool asked for, %.0f%% handed out (median of %d seeds)\n",
		       f.regbuf.asked * 100, f.regbuf.held * 100, FRAG_SEEDS);
		printf("  the same requests: %.0f%% with plain best fit, %.0f%% if buffers could move\n",
		       f.best_fit * 100, f.moving * 100);
		printf("  if free pages could be gathered into a new registered view: %.0f%% with 4 KiB pages, %.0f%% with 2 MiB pages\n",
		       f.view_4k * 100, f.view_2m * 100);
		if (o->planner)
			printf("  placed by a planner that knows the workload's distribution %.0f%%, by one shown the future %.0f%%\n",
			       f.planner * 100, f.foresight * 100);
		if (err)
			printf("  %d errors!\n", err);
	}
	for (unsigned i = 0; i < NSIZES; i++) {
		for (size_t k = 0; k < m.nr[i]; k++)
			free(m.items[i][k]);
		free(m.items[i]);
	}
	regbuf_pool_destroy(pool);
	return err ? 1 : 0;
}

int cmd_bench(int argc, char **argv)
{
	struct opts o = {.repeat = 5,
			 .size = 1LL << 30,
			 .backing = REGBUF_BACKING_HUGE_2M,
			 .rings = 8,
			 .threads = 1,
			 .qd = 32,
			 .conns = 4,
			 .bs = 128 * 1024,
			 .seconds = 1,
			 .target = "auto"};
	const char *sub;

	if (argc < 2)
		return usage_error("bench", "which benchmark?");
	sub = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--json"))
			o.json = true;
		else if (!strcmp(argv[i], "--repeat") && v)
			o.repeat = atoi(v), i++;
		else if (!strcmp(argv[i], "--size") && v)
			o.size = parse_size(v), i++, o.size_set = true;
		else if (!strcmp(argv[i], "--backing") && v)
			o.backing = regbuf_backing_parse(v), i++,
			o.backing_set = true;
		else if (!strcmp(argv[i], "--rings") && v)
			o.rings = atoi(v), i++;
		else if (!strcmp(argv[i], "--threads") && v)
			o.threads = atoi(v), i++;
		else if (!strcmp(argv[i], "--qd") && v)
			o.qd = atoi(v), i++;
		else if (!strcmp(argv[i], "--bs") && v)
			o.bs = parse_size(v), i++;
		else if (!strcmp(argv[i], "--seconds") && v)
			o.seconds = atof(v), i++;
		else if (!strcmp(argv[i], "--target") && v)
			o.target = v, i++;
		else if (!strcmp(argv[i], "--fill"))
			o.fill = true;
		else if (!strcmp(argv[i], "--planner"))
			o.planner = true;
		else if (!strcmp(argv[i], "--conns") && v)
			o.conns = atoi(v), i++;
		else
			return usage_error("bench", "unknown option '%s'",
					   argv[i]);
	}
	if (o.repeat < 1 || o.repeat > 64 || o.size <= 0 || o.rings < 1 ||
	    o.rings > 4096 || o.backing < 0 || o.bs < 512 || o.qd < 1 ||
	    o.qd > 4096 || o.seconds <= 0 || o.conns < 1 || o.conns > 64)
		return usage_error("bench", "option out of range");
	if (!strcmp(sub, "register"))
		return bench_register(&o);
	if (!strcmp(sub, "attach"))
		return bench_attach(&o);
	if (!strcmp(sub, "mixed")) {
		if (!o.size_set)
			o.size = 1LL << 30;
		return bench_mixed(&o);
	}
	if (!strcmp(sub, "alloc"))
		return bench_alloc(&o);
	if (!strcmp(sub, "io"))
		return bench_io(&o);
	if (!strcmp(sub, "sink"))
		return bench_sink(&o);
	return usage_error("bench", "unknown benchmark '%s'", sub);
}
