/* SPDX-License-Identifier: MIT */
/*
 * regbuf inspect: the folio map of a pool or of another process's range,
 * what registering it as one buffer costs, and the plan regbuf uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/uio.h>

#include "cli.h"

const char inspect_usage[] =
	"usage: regbuf inspect [--size S] [--backing auto|1g|2m|thp|4k] [--json]\n"
	"       regbuf inspect --pid P --addr A --len L [--json]\n"
	"  Show the folio map of a new pool (first form) or of a range of\n"
	"  another process (second form), what registering it as one buffer\n"
	"  would cost, and the slots regbuf would register instead.\n";

#define MAX_SLOTS 16384

static char run_char(const struct regbuf_run *r)
{
	switch (r->kind) {
	case REGBUF_RUN_HUGETLB:
		return r->folio_size >= (1ULL << 30) ? 'G' : 'H';
	case REGBUF_RUN_THP:
		return r->folio_size >= (2ULL << 20) ? 'T' : 't';
	case REGBUF_RUN_4K:
		return r->folio_size ? '.' : '?';
	case REGBUF_RUN_ABSENT:
		return '_';
	}
	return ' ';
}

static void picture(const struct regbuf_map *m)
{
	uint64_t unit = 2ULL << 20, cells;
	const unsigned width = 64, max_lines = 8;
	char line[80];
	unsigned col = 0;

	while ((m->len + unit - 1) / unit > (uint64_t)width * max_lines)
		unit *= 2;
	cells = (m->len + unit - 1) / unit;
	if (m->len < unit * 4)
		unit = 4096, cells = (m->len + unit - 1) / unit;
	if (cells > (uint64_t)width * max_lines) {
		unit = (m->len + width * max_lines - 1) / (width * max_lines);
		unit = (unit + 4095) & ~4095ULL;
		cells = (m->len + unit - 1) / unit;
	}
	char a[32];
	printf("map (one character = %s):\n  ",
	       rb_fmt_size(unit, a, sizeof(a)));
	for (uint64_t c = 0; c < cells; c++) {
		uint64_t lo = m->addr + c * unit, hi = lo + unit;
		char ch = 0;

		for (unsigned i = 0; i < m->nr_runs; i++) {
			const struct regbuf_run *r = &m->runs[i];

			if (r->start >= hi || r->start + r->len <= lo)
				continue;
			char k = run_char(r);

			ch = !ch || ch == k ? k : 'm';
		}
		line[col++] = ch ? ch : ' ';
		if (col == width || c + 1 == cells) {
			line[col] = '\0';
			printf("%s\n  ", line);
			col = 0;
		}
	}
	printf("\r  legend: G 1G hugetlb  H 2M hugetlb  T THP (2M)  t mTHP  . 4K  _ not present  m mixed\n");
}

/* The NUMA node of run r's memory (move_pages() asked, nothing moved),
 * from up to 64 pages spread over it: the node, RUN_NODES_MIXED, or -1
 * when unknown (not present, or not ours to ask). */
#define RUN_NODES_MIXED (-2)
static int run_node(const struct regbuf_map *m, const struct regbuf_run *r)
{
	uint64_t step = r->len / 64 > 4096 ? r->len / 64 : 4096;
	void *pages[64];
	int status[64], node = -1;
	unsigned n = 0;

	step -= step % 4096;
	for (uint64_t off = 0; off < r->len && n < 64; off += step)
		pages[n++] = (void *)(uintptr_t)(r->start + off);
	if (syscall(SYS_move_pages, m->pid, n, pages, NULL, status, 0))
		return -1;
	for (unsigned i = 0; i < n; i++) {
		if (status[i] < 0)
			continue;
		if (node >= 0 && status[i] != node)
			return RUN_NODES_MIXED;
		node = status[i];
	}
	return node;
}

static const char *node_name(int node, char *buf, size_t n)
{
	if (node == RUN_NODES_MIXED)
		return " nodes mixed";
	if (node < 0)
		return "";
	snprintf(buf, n, " node %d", node);
	return buf;
}

static void print_runs(const struct regbuf_map *m)
{
	char nb[24];
	char a[32], b[32];

	printf("runs (source: %s):\n", regbuf_map_source_name(m->source));
	for (unsigned i = 0; i < m->nr_runs && i < 24; i++) {
		const struct regbuf_run *r = &m->runs[i];

		printf("  +%-12llx %10s  %-8s folio %s%s%s%s\n",
		       (unsigned long long)(r->start - m->addr),
		       rb_fmt_size(r->len, a, sizeof(a)),
		       regbuf_run_kind_name((int)r->kind),
		       r->folio_size ? rb_fmt_size(r->folio_size, b, sizeof(b))
				     : "?",
		       r->flags & REGBUF_RUN_RO ? " read-only" : "",
		       r->flags & REGBUF_RUN_SHARED_FILE ? " shared-file" : "",
		       node_name(run_node(m, r), nb, sizeof(nb)));
	}
	if (m->nr_runs > 24)
		printf("  ... %u more runs\n", m->nr_runs - 24);
}

struct whole {
	struct regbuf_prediction p; /* summed over 1 GiB pieces */
	int worst;
	unsigned pieces;
};

static int predict_whole(const struct regbuf_map *m, struct whole *w)
{
	unsigned n = (unsigned)((m->len + (1ULL << 30) - 1) >> 30);
	struct iovec *iov = calloc(n, sizeof(*iov));
	struct regbuf_prediction *p = calloc(n, sizeof(*p));
	int ret = -ENOMEM;

	memset(w, 0, sizeof(*w));
	if (iov && p) {
		for (unsigned i = 0; i < n; i++) {
			uint64_t off = (uint64_t)i << 30;

			iov[i].iov_base = (void *)(uintptr_t)(m->addr + off);
			iov[i].iov_len = m->len - off < (1ULL << 30)
						 ? m->len - off
						 : 1ULL << 30;
		}
		ret = regbuf_predict(m, iov, n, p);
		w->pieces = n;
		w->p.coalesced = 1;
		for (unsigned i = 0; i < n; i++) {
			w->p.bvecs += p[i].bvecs;
			w->p.meta_bytes += p[i].meta_bytes;
			w->p.charge += p[i].charge;
			w->p.coalesced &= p[i].coalesced;
			if (p[i].cost_class >= w->worst) {
				w->worst = p[i].cost_class;
				memcpy(w->p.why, p[i].why, sizeof(w->p.why));
			}
		}
		w->p.cost_class = w->worst;
	}
	free(iov);
	free(p);
	return ret;
}

static void advice(const struct regbuf_map *m, const struct whole *w,
		   const struct regbuf_plan_slot *s, int nslots)
{
	uint64_t bvecs = 0;

	for (int i = 0; i < nslots; i++)
		bvecs += s[i].bvecs;
	switch (w->worst) {
	case REGBUF_COST_MIXED:
		printf("advice: the range mixes folio sizes: as one buffer it costs ~100x more to register; regbuf splits it into %d slot(s) that each coalesce.\n",
		       nslots);
		break;
	case REGBUF_COST_FAULT:
		printf("advice: part of the range is not present: registration would fault and zero it (seconds per GiB); populate it first (MADV_POPULATE_WRITE).\n");
		break;
	case REGBUF_COST_PER_PAGE:
		printf("advice: 4 KiB pages cost one pin and one bio_vec each; hugepage-backed memory registers ~20x faster.\n");
		break;
	case REGBUF_COST_REFUSED:
		printf("advice: the kernel will refuse this range: %s\n",
		       w->p.why);
		break;
	default:
		printf("advice: none, this range registers on the fast path (%d slot(s)).\n",
		       nslots);
	}
	(void)m;
	{
		struct regbuf_machine mc = REGBUF_STRUCT_INIT(mc);
		uint64_t charge = 0;
		char a[32], b[32];

		for (int i = 0; i < nslots; i++)
			charge += s[i].charge;
		regbuf_machine_get(&mc);
		if (mc.memlock_room != UINT64_MAX && charge > mc.memlock_room)
			printf("memlock: registering it charges %s, and RLIMIT_MEMLOCK leaves this user %s: raise it (ulimit -l, LimitMEMLOCK=), grant CAP_IPC_LOCK, or register part of it (REGBUF_POOL_PARTIAL).\n",
			       rb_fmt_size(charge, a, sizeof(a)),
			       rb_fmt_size(mc.memlock_room, b, sizeof(b)));
	}
	switch (regbuf_attach_cost_class()) {
	case REGBUF_ATTACH_COST_PER_SLOT:
		printf("attach: each more ring clones the table, one reference per slot (%d), whatever the size.\n",
		       nslots);
		break;
	case REGBUF_ATTACH_COST_PER_BVEC:
		printf("attach: each more ring clones the table, but this kernel also takes an accounting reference per huge page, walking all %llu bio_vecs, for rings created without CAP_IPC_LOCK: use large folios.\n",
		       (unsigned long long)bvecs);
		break;
	default:
		printf("attach: no clone on this kernel: each more ring pins the memory again.\n");
	}
}

static void json_out(const struct regbuf_map *m, const struct whole *w,
		     const struct regbuf_plan_slot *s, int ns)
{
	struct json j;

	json_begin(&j, stdout);
	json_str(&j, "source", regbuf_map_source_name(m->source));
	json_int(&j, "pid", m->pid);
	json_u64(&j, "addr", m->addr);
	json_u64(&j, "len", m->len);
	json_arr(&j, "runs");
	for (unsigned i = 0; i < m->nr_runs; i++) {
		json_obj(&j, NULL);
		json_u64(&j, "start", m->runs[i].start);
		json_u64(&j, "len", m->runs[i].len);
		json_str(&j, "backing",
			 regbuf_run_kind_name((int)m->runs[i].kind));
		json_u64(&j, "folio_size", m->runs[i].folio_size);
		{
			int node = run_node(m, &m->runs[i]);

			/* null: not present or not ours to ask */
			if (node == RUN_NODES_MIXED)
				json_str(&j, "node", "mixed");
			else if (node < 0)
				json_null(&j, "node");
			else
				json_int(&j, "node", node);
		}
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_arr(&j, "plan");
	for (int i = 0; i < ns; i++) {
		json_obj(&j, NULL);
		json_u64(&j, "offset", s[i].offset);
		json_u64(&j, "len", s[i].len);
		json_str(&j, "backing", regbuf_run_kind_name(s[i].kind));
		json_u64(&j, "folio_size", s[i].folio_size);
		json_u64(&j, "bvecs", s[i].bvecs);
		json_u64(&j, "charge", s[i].charge);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_obj(&j, "as_one_buffer");
	json_bool(&j, "coalesced", w->p.coalesced);
	json_u64(&j, "bvecs", w->p.bvecs);
	json_u64(&j, "charge", w->p.charge);
	json_u64(&j, "meta_bytes", w->p.meta_bytes);
	json_str(&j, "cost_class", regbuf_cost_class_name(w->worst));
	json_str(&j, "why", w->p.why);
	json_u64(&j, "buffers", w->pieces);
	json_close(&j, '}');
	json_end(&j);
}

static int show(const struct regbuf_map *m, bool json)
{
	struct regbuf_plan_slot *s = calloc(MAX_SLOTS, sizeof(*s));
	struct whole w;
	int ns, ret;
	char a[32], b[32], c[32];

	if (!s)
		return 1;
	ret = predict_whole(m, &w);
	ns = regbuf_plan(m, 0, s, MAX_SLOTS);
	if (json) {
		json_out(m, &w, s, ns < 0 ? 0 : ns);
		free(s);
		return ns < 0 || ret < 0 ? 1 : 0;
	}
	printf("range 0x%llx, %s\n", (unsigned long long)m->addr,
	       rb_fmt_size(m->len, a, sizeof(a)));
	picture(m);
	print_runs(m);
	printf("as one buffer%s: %s, %llu bio_vecs, charge %s, kernel metadata %s\n  %s\n",
	       w.pieces > 1 ? " (1 GiB pieces)" : "",
	       regbuf_cost_class_name(w.worst), (unsigned long long)w.p.bvecs,
	       rb_fmt_size(w.p.charge, a, sizeof(a)),
	       rb_fmt_size(w.p.meta_bytes, b, sizeof(b)), w.p.why);
	if (ns < 0) {
		printf("plan: refused: %s\n", regbuf_last_error());
		free(s);
		return 1;
	}
	printf("plan: %d slot(s)\n  %-5s %-14s %-10s %-8s %-7s %8s %10s\n", ns,
	       "slot", "offset", "len", "backing", "folio", "bvecs", "charge");
	for (int i = 0; i < ns && i < 32; i++)
		printf("  %-5d +%-13llx %-10s %-8s %-7s %8llu %10s\n", i,
		       (unsigned long long)s[i].offset,
		       rb_fmt_size(s[i].len, a, sizeof(a)),
		       regbuf_run_kind_name(s[i].kind),
		       s[i].folio_size
			       ? rb_fmt_size(s[i].folio_size, c, sizeof(c))
			       : "-",
		       (unsigned long long)s[i].bvecs,
		       rb_fmt_size(s[i].charge, b, sizeof(b)));
	if (ns > 32)
		printf("  ... %d more slots\n", ns - 32);
	advice(m, &w, s, ns);
	free(s);
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *pool = NULL;
	struct regbuf_map *m = NULL;
	long pid = -1;
	int64_t size = 1LL << 30, len = -1;
	uint64_t addr = 0;
	bool json = false, have_addr = false;
	int backing = REGBUF_BACKING_AUTO, ret;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--size") && v) {
			size = parse_size(v), i++;
			if (size <= 0)
				return usage_error("inspect", "bad size '%s'",
						   v);
		} else if (!strcmp(argv[i], "--backing") && v) {
			backing = regbuf_backing_parse(v), i++;
			if (backing < 0 || backing == REGBUF_BACKING_CALLER)
				return usage_error("inspect",
						   "unknown backing '%s'", v);
		} else if (!strcmp(argv[i], "--pid") && v) {
			pid = strtol(v, NULL, 10), i++;
		} else if (!strcmp(argv[i], "--addr") && v) {
			addr = strtoull(v, NULL, 0), i++;
			have_addr = true;
		} else if (!strcmp(argv[i], "--len") && v) {
			len = parse_size(v), i++;
		} else {
			return usage_error("inspect", "unknown option '%s'",
					   argv[i]);
		}
	}
	if (pid >= 0 || have_addr || len >= 0) {
		if (pid < 0 || !have_addr || len <= 0)
			return usage_error(
				"inspect",
				"--pid, --addr and --len go together");
		ret = regbuf_map_create((int)pid, addr, (uint64_t)len, &m);
		if (ret) {
			fprintf(stderr, "regbuf inspect: %s\n",
				regbuf_last_error());
			return 1;
		}
		ret = show(m, json);
		regbuf_map_destroy(m);
		return ret;
	}
	regbuf_pool_opts_init(&o);
	o.size = (uint64_t)size;
	o.backing = backing;
	o.flags = REGBUF_POOL_NO_REGISTER;
	ret = regbuf_pool_create(&o, &pool);
	if (ret) {
		fprintf(stderr, "regbuf inspect: cannot create a pool: %s\n",
			regbuf_last_error());
		return 1;
	}
	ret = regbuf_map_create(0, (uint64_t)(uintptr_t)regbuf_pool_base(pool),
				regbuf_pool_size(pool), &m);
	if (ret) {
		fprintf(stderr, "regbuf inspect: %s\n", regbuf_last_error());
		regbuf_pool_destroy(pool);
		return 1;
	}
	if (!json) {
		struct regbuf_pool_info info = {.struct_size = sizeof(info)};

		regbuf_pool_info(pool, &info);
		printf("pool: %s backing, populated in %.1f ms\n",
		       regbuf_backing_name(info.backing),
		       (double)info.populate_ns / 1e6);
		if (info.notes[0])
			printf("notes:\n  %.*s\n",
			       (int)strcspn(info.notes, "\0"), info.notes);
	}
	ret = show(m, json);
	regbuf_map_destroy(m);
	regbuf_pool_destroy(pool);
	return ret;
}
