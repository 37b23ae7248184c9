/* SPDX-License-Identifier: MIT */
/*
 * Where a pool bound to a NUMA node really is: for every backing (4 KiB,
 * THP, 2 MiB and, where a node has one free, 1 GiB hugetlb) on node 0 and
 * node 1, every page of the pool is asked for its node (move_pages() with
 * no target: a query), after create, after populating a NO_POPULATE pool
 * by hand, and in the new chunk of a grown pool; the registration plan
 * and its prediction do not depend on the node. Then node 1 without free
 * 2 MiB pages: AUTO falls back on node 1 (never node 0), STRICT fails
 * naming the node and its free pages. Needs two nodes: the two-node guest
 * (REGBUF_NUMA=2 tests/kernels/run.sh 7.2) has them.
 */
#include <liburing.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "harness.h"
#include "probe.h"

/* Pages of [addr, addr + len) not on node, among those asked (one per
 * step bytes); -1 when the query itself fails. */
static long off_node(const void *addr, uint64_t len, uint64_t step, int node,
		     long *asked)
{
	enum { BATCH = 512 };
	void *pages[BATCH];
	int status[BATCH];
	long wrong = 0;

	*asked = 0;
	for (uint64_t off = 0; off < len;) {
		unsigned n = 0;

		for (; n < BATCH && off < len; n++, off += step)
			pages[n] = (char *)addr + off;
		if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0))
			return -1;
		for (unsigned i = 0; i < n; i++)
			wrong += status[i] != node;
		*asked += n;
	}
	return wrong;
}

static uint64_t page_of(int backing)
{
	return backing == REGBUF_BACKING_HUGE_1G   ? 1ULL << 30
	       : backing == REGBUF_BACKING_HUGE_2M ? 2ULL << 20
	       : backing == REGBUF_BACKING_THP	   ? 2ULL << 20
						   : 4096;
}

/* Free hugepages of that size on the node, as the library reads them. */
static uint64_t node_free(int node, uint64_t page)
{
	uint64_t v;

	return rb_free_hugepages(page, node, &v) ? 0 : v;
}

static void check_on(struct regbuf_pool *p, uint64_t from, uint64_t len,
		     int node, uint64_t step, const char *what)
{
	long asked, wrong = off_node((char *)regbuf_pool_base(p) + from, len,
				     step, node, &asked);

	if (wrong) {
		fprintf(stderr, "%s: %ld of %ld pages not on node %d%s\n", what,
			wrong, asked, node,
			wrong < 0 ? " (move_pages failed)" : "");
		exit(1);
	}
}

/* One pool of backing on node: where it is, and its plan. Returns the
 * predicted bio_vecs, 0 when not tried (the reason printed). */
static uint64_t one(int backing, int node, uint64_t size)
{
	uint64_t page = page_of(backing), step = page;
	struct regbuf_pool_info info = REGBUF_STRUCT_INIT(info);
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	char what[64];
	int ret;

	snprintf(what, sizeof(what), "%s on node %d",
		 regbuf_backing_name(backing), node);
	if ((backing == REGBUF_BACKING_HUGE_1G ||
	     backing == REGBUF_BACKING_HUGE_2M) &&
	    node_free(node, page) * page < size) {
		/* an earlier run (node_short) may have left a node short */
		printf("  %s: %llu free hugepages on that node, too few, not tried\n",
		       what, (unsigned long long)node_free(node, page));
		return 0;
	}
	if (step == 4096)
		step = 16384; /* every fourth page of 4 KiB pools */
	regbuf_pool_opts_init(&o);
	o.size = size;
	o.backing = backing;
	o.numa_node = node;
	o.flags = REGBUF_POOL_STRICT;
	ret = regbuf_pool_create(&o, &p);
	if (ret) {
		fprintf(stderr, "%s: create failed: %s\n", what,
			regbuf_last_error());
		exit(1);
	}
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK_EQ(info.numa_node, node);
	CHECK_EQ(info.backing, backing);
	check_on(p, 0, info.size, node, step, what);
	regbuf_pool_destroy(p);
	printf("  %s: %llu MiB, every page there; %llu bio_vecs predicted\n",
	       what, (unsigned long long)(info.size >> 20),
	       (unsigned long long)info.predicted_bvecs);
	return info.predicted_bvecs;
}

/* NO_POPULATE, touched by hand: the policy places the first touch. */
static void later(int node, uint64_t size)
{
	struct regbuf_pool_info info = REGBUF_STRUCT_INIT(info);
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;

	regbuf_pool_opts_init(&o);
	o.size = size;
	o.backing = REGBUF_BACKING_PAGES;
	o.numa_node = node;
	o.flags = REGBUF_POOL_NO_POPULATE;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	memset(regbuf_pool_base(p), 1, info.size);
	check_on(p, 0, info.size, node, 4096, "NO_POPULATE, touched later");
	regbuf_pool_destroy(p);
	printf("  NO_POPULATE on node %d, touched by the program: every page there\n",
	       node);
}

/* A grown pool: the new chunk on the pool's node too. */
static void grown(int node, uint64_t size)
{
	struct regbuf_pool_info a = REGBUF_STRUCT_INIT(a),
				b = REGBUF_STRUCT_INIT(b);
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;

	regbuf_pool_opts_init(&o);
	o.size = size;
	o.backing = REGBUF_BACKING_THP;
	o.numa_node = node;
	o.flags = REGBUF_POOL_GROWABLE;
	o.max_size = 4 * size;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &a), 0);
	CHECK(regbuf_pool_grow(p, size) > 0); /* the first new slot */
	CHECK_EQ(regbuf_pool_info(p, &b), 0);
	CHECK(b.size > a.size && b.nr_chunks > a.nr_chunks);
	check_on(p, a.size, b.size - a.size, node, 4096, "grown chunk");
	regbuf_pool_destroy(p);
	printf("  grown on node %d: %llu -> %llu MiB, the new chunk there too\n",
	       node, (unsigned long long)(a.size >> 20),
	       (unsigned long long)(b.size >> 20));
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) || !ok ? -1 : 0;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f && fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

/* Give node 1 its had pages back: the kernel may allocate fewer than
 * asked when the node's free memory is fragmented, so compact and ask
 * again; the count is checked (the runner also fails a test whose
 * hugepages do not come back). */
static void node_restore(const char *path, long had)
{
	long now = -1;

	for (int i = 0; i < 5 && (now = read_long(path)) < had; i++) {
		if (i)
			write_long("/proc/sys/vm/compact_memory", 1);
		CHECK_EQ(write_long(path, had), 0);
	}
	now = read_long(path);
	if (now != had) {
		fprintf(stderr, "node 1: %ld of its %ld 2 MiB pages back\n",
			now, had);
		exit(1);
	}
}

/* Node 1 with no free 2 MiB page (its pool emptied for the test, then
 * put back): AUTO stays on node 1, STRICT says which node is short. */
static void node_short(uint64_t size)
{
	const char *path = "/sys/devices/system/node/node1/hugepages/"
			   "hugepages-2048kB/nr_hugepages";
	struct regbuf_pool_info info = REGBUF_STRUCT_INIT(info);
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	long had;
	FILE *f;

	if (geteuid()) {
		printf("  node 1 without 2 MiB pages: emptying its pool needs root, not tried\n");
		return;
	}
	f = fopen(path, "r");
	CHECK(f && fscanf(f, "%ld", &had) == 1);
	fclose(f);
	CHECK_EQ(write_long(path, 0), 0);
	CHECK_EQ(node_free(1, 2 << 20), 0);
	regbuf_pool_opts_init(&o);
	o.size = size;
	o.numa_node = 1;
	o.backing = REGBUF_BACKING_HUGE_2M;
	o.flags = REGBUF_POOL_STRICT;
	CHECK_EQ(regbuf_pool_create(&o, &p), -ENOMEM);
	if (!strstr(regbuf_last_error(), "node 1")) {
		fprintf(stderr,
			"STRICT on a short node: \"%s\" names no node\n",
			regbuf_last_error());
		exit(1);
	}
	printf("  STRICT 2m on node 1 without free pages: \"%s\"\n",
	       regbuf_last_error());
	o.backing = REGBUF_BACKING_AUTO;
	o.flags = 0;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK(info.backing != REGBUF_BACKING_HUGE_2M &&
	      info.backing != REGBUF_BACKING_HUGE_1G);
	check_on(p, 0, info.size, 1, 4096, "AUTO on a short node");
	CHECK_EQ(info.numa_node, 1);
	if (!strstr(info.notes, "free on NUMA node 1")) {
		fprintf(stderr, "AUTO's notes do not name the node:\n%s\n",
			info.notes);
		exit(1);
	}
	regbuf_pool_destroy(p);
	node_restore(path, had);
	printf("  AUTO on node 1 without free 2 MiB pages: %s, every page still on node 1\n",
	       regbuf_backing_name(info.backing));
}

int main(void)
{
	const int backings[] = {REGBUF_BACKING_PAGES, REGBUF_BACKING_THP,
				REGBUF_BACKING_HUGE_2M, REGBUF_BACKING_HUGE_1G};
	struct regbuf_machine m = REGBUF_STRUCT_INIT(m);
	uint64_t size;

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	CHECK_EQ(regbuf_machine_get(&m), 0);
	if (m.numa_nodes < 2)
		t_skip("one NUMA node here (REGBUF_NUMA=2 tests/kernels/run.sh "
		       "7.2 boots a two-node guest)");
	size = t_fit(32ULL << 20, 4ULL << 20, 2ULL << 20, 0);
	for (unsigned b = 0; b < sizeof(backings) / sizeof(backings[0]); b++) {
		uint64_t want = backings[b] == REGBUF_BACKING_HUGE_1G
					? 1ULL << 30
					: size,
			 v0, v1;

		if (want > t_room_for(want, want, want, 0, 1)) {
			printf("  %s: RLIMIT_MEMLOCK holds no pool of it, not tried (needs privilege)\n",
			       regbuf_backing_name(backings[b]));
			continue;
		}
		v0 = one(backings[b], 0, want);
		v1 = one(backings[b], 1, want);
		if (v0 && v1)
			CHECK_EQ(v0, v1); /* the plan does not see the node */
	}
	{
		/* regbuf info lists every node with its CPUs and free pages */
		char cmd[256], out[8192];

		snprintf(cmd, sizeof(cmd), "%s/regbuf info --json",
			 getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD")
						: "build");
		CHECK_EQ(t_popen(out, sizeof(out), cmd), 0);
		CHECK(strstr(out, "{\"node\":0,\"cpus\":"));
		CHECK(strstr(out, "{\"node\":1,\"cpus\":"));
		printf("  regbuf info: both nodes listed with their CPUs and free hugepages\n");
	}
	later(1, size);
	grown(1, size / 2);
	node_short(size);
	return 0;
}
