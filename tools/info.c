/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char info_usage[] =
	"usage: regbuf info [--json]\n"
	"  What the running kernel and machine support for registered\n"
	"  buffers: io_uring state, features, hugepages, THP, memlock, NUMA.\n";

/* What the machine has per NUMA node: its CPUs and free hugepages. */
struct node_info {
	int node;
	char cpus[64];
	long free_2m, free_1g; /* -1: this size does not exist */
};

static long node_long(int node, const char *rel)
{
	char path[160];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/%s", node,
		 rel);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Node n's line, 0; -1 when the node does not exist. */
static int node_get(int n, struct node_info *ni)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 n);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ni->node = n;
	if (!fgets(ni->cpus, sizeof(ni->cpus), f))
		ni->cpus[0] = '\0';
	ni->cpus[strcspn(ni->cpus, "\n")] = '\0';
	fclose(f);
	ni->free_2m = node_long(n, "hugepages/hugepages-2048kB/free_hugepages");
	ni->free_1g =
		node_long(n, "hugepages/hugepages-1048576kB/free_hugepages");
	return 0;
}

/* Nodes are numbered from 0 with possible holes: look a little further. */
#define NODE_SCAN 64

static const char *state_name(int s)
{
	static const char *const n[] = {"available", "disabled", "blocked",
					"absent"};

	return s >= 0 && s < 4 ? n[s] : "?";
}

/*
 * Does the running kernel register buffers by folio? The one honest sign
 * is the interface itself: kernel/'s series adds pin_user_folios_fast(),
 * which /proc/kallsyms lists by name (addresses may be hidden, names are
 * not). 1 yes, 0 no, -1 unknown (no kallsyms to read).
 */
static int registers_by_folio(void)
{
	char line[512];
	int found = 0;
	FILE *k = fopen("/proc/kallsyms", "r");

	if (!k)
		return -1;
	while (!found && fgets(line, sizeof(line), k)) {
		const char *name = strrchr(line, ' ');

		found = name &&
			!strncmp(name + 1, "pin_user_folios_fast", 20) &&
			(name[21] == '\n' || name[21] == '\t' || !name[21]);
	}
	fclose(k);
	return found;
}

/*
 * The largest pool of a backing this user can create and register now:
 * within the free hugepages (1g, 2m) and what RLIMIT_MEMLOCK leaves beside
 * the pool's anchor ring (16 KiB), in whole pages of the backing (a huge
 * page is charged whole, THP too). UINT64_MAX: no limit but memory.
 */
static const int largest_backings[] = {
	REGBUF_BACKING_HUGE_1G, REGBUF_BACKING_HUGE_2M, REGBUF_BACKING_THP,
	REGBUF_BACKING_PAGES};

static uint64_t largest_pool(const struct regbuf_machine *m, int backing)
{
	uint64_t page = 4096, cap = UINT64_MAX, anchor = 16 << 10;

	if (backing == REGBUF_BACKING_HUGE_1G)
		page = 1ULL << 30, cap = m->huge_1g.free << 30;
	else if (backing == REGBUF_BACKING_HUGE_2M)
		page = 2ULL << 20, cap = m->huge_2m.free << 21;
	else if (backing == REGBUF_BACKING_THP)
		page = 2ULL << 20;
	if (m->memlock_room != UINT64_MAX) {
		uint64_t room =
			m->memlock_room > anchor
				? (m->memlock_room - anchor) / page * page
				: 0;

		cap = room < cap ? room : cap;
	}
	return cap;
}

static const char *by_folio_name(int v)
{
	return v > 0 ? "yes" : v == 0 ? "no" : "unknown";
}

static void json_info(void)
{
	struct regbuf_features f = {.struct_size = sizeof(f)};
	struct regbuf_machine m = {.struct_size = sizeof(m)};
	struct json j;

	regbuf_features_get(&f);
	regbuf_machine_get(&m);
	json_begin(&j, stdout);
	json_str(&j, "kernel", f.kernel);
	json_str(&j, "regbuf", regbuf_version());
	json_str(&j, "io_uring", state_name(f.io_uring));
	if (f.io_uring != REGBUF_IO_URING_AVAILABLE || f.io_uring_errno) {
		json_int(&j, "io_uring_errno", f.io_uring_errno);
		json_str(&j, "io_uring_why", f.why);
	}
	json_obj(&j, "features");
	for (int i = 0; i < REGBUF_FEAT_NR; i++)
		json_bool(&j, regbuf_feature_name(1ULL << i),
			  f.features & (1ULL << i));
	json_close(&j, '}');
	json_obj(&j, "hugepages");
	json_obj(&j, "2M");
	json_u64(&j, "total", m.huge_2m.total);
	json_u64(&j, "free", m.huge_2m.free);
	json_u64(&j, "reserved", m.huge_2m.reserved);
	json_close(&j, '}');
	json_obj(&j, "1G");
	json_u64(&j, "total", m.huge_1g.total);
	json_u64(&j, "free", m.huge_1g.free);
	json_u64(&j, "reserved", m.huge_1g.reserved);
	json_close(&j, '}');
	json_close(&j, '}');
	json_str(&j, "thp", m.thp);
	json_obj(&j, "memlock");
	if (m.memlock_limit == UINT64_MAX)
		json_null(&j, "limit");
	else
		json_u64(&j, "limit", m.memlock_limit);
	json_bool(&j, "cap_ipc_lock", m.cap_ipc_lock);
	if (m.memlock_used == UINT64_MAX)
		json_null(&j, "used");
	else
		json_u64(&j, "used", m.memlock_used);
	if (m.memlock_room == UINT64_MAX)
		json_null(&j, "room");
	else
		json_u64(&j, "room", m.memlock_room);
	json_u64(&j, "rings", m.memlock_rings);
	json_u64(&j, "nr_rings", m.nr_rings);
	json_close(&j, '}');
	/* null: bounded by memory only */
	json_obj(&j, "largest_pool");
	for (unsigned i = 0; i < 4; i++) {
		uint64_t v = largest_pool(&m, largest_backings[i]);
		const char *name = regbuf_backing_name(largest_backings[i]);

		if (v == UINT64_MAX)
			json_null(&j, name);
		else
			json_u64(&j, name, v);
	}
	json_close(&j, '}');
	json_int(&j, "numa_nodes", m.numa_nodes);
	json_arr(&j, "nodes");
	for (int n = 0; n < NODE_SCAN; n++) {
		struct node_info ni;

		if (node_get(n, &ni))
			continue;
		json_obj(&j, NULL);
		json_int(&j, "node", ni.node);
		json_str(&j, "cpus", ni.cpus);
		/* null: no hugepages of that size on this machine */
		if (ni.free_2m < 0)
			json_null(&j, "free_2m");
		else
			json_int(&j, "free_2m", ni.free_2m);
		if (ni.free_1g < 0)
			json_null(&j, "free_1g");
		else
			json_int(&j, "free_1g", ni.free_1g);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_int(&j, "page_size", m.page_size);
	json_int(&j, "cpus", m.online_cpus);
	json_str(&j, "registers_by_folio", by_folio_name(registers_by_folio()));
	json_end(&j);
}

void print_info(FILE *o, bool brief)
{
	struct regbuf_features f = {.struct_size = sizeof(f)};
	struct regbuf_machine m = {.struct_size = sizeof(m)};
	char a[32];
	int on = 0;

	regbuf_features_get(&f);
	regbuf_machine_get(&m);
	fprintf(o, "  %-14s %s (regbuf %s)\n", "kernel", f.kernel,
		regbuf_version());
	fprintf(o, "  %-14s %s\n", "io_uring", state_name(f.io_uring));
	if (f.io_uring != REGBUF_IO_URING_AVAILABLE)
		fprintf(o, "  %-14s -> %s; pools still work as plain memory\n",
			"", f.why);
	else if (f.io_uring_errno)
		fprintf(o, "  %-14s -> %s\n", "", f.why);
	fprintf(o, "  %-14s", "features");
	for (int i = 0; i < REGBUF_FEAT_NR; i++)
		if (f.features & (1ULL << i))
			fprintf(o, "%s%s", on++ ? " " : " ",
				regbuf_feature_name(1ULL << i));
	fputc('\n', o);
	if (!brief) {
		fprintf(o, "  %-14s", "missing");
		on = 0;
		for (int i = 0; i < REGBUF_FEAT_NR; i++)
			if (!(f.features & (1ULL << i)))
				fprintf(o, " %s",
					regbuf_feature_name(1ULL << i)),
					on++;
		fprintf(o, "%s\n", on ? "" : " (none)");
	}
	fprintf(o, "  %-14s 2M: %llu free of %llu   1G: %llu free of %llu\n",
		"hugepages", (unsigned long long)m.huge_2m.free,
		(unsigned long long)m.huge_2m.total,
		(unsigned long long)m.huge_1g.free,
		(unsigned long long)m.huge_1g.total);
	if (!m.huge_2m.free && !m.huge_1g.free)
		fprintf(o,
			"  %-14s -> reserve some: echo 512 > /proc/sys/vm/nr_hugepages (as root)\n",
			"");
	fprintf(o, "  %-14s %s\n", "thp", m.thp);
	if (!strcmp(m.thp, "never"))
		fprintf(o,
			"  %-14s -> THP pools fall back to 4 KiB pages; echo madvise > /sys/kernel/mm/transparent_hugepage/enabled\n",
			"");
	fprintf(o, "  %-14s %s%s", "memlock",
		m.memlock_limit == UINT64_MAX
			? "unlimited"
			: rb_fmt_size(m.memlock_limit, a, sizeof(a)),
		m.cap_ipc_lock ? " (CAP_IPC_LOCK: not enforced)" : "");
	if (m.memlock_room != UINT64_MAX && m.memlock_used != UINT64_MAX) {
		fprintf(o, ", %s of it charged to this user now",
			rb_fmt_size(m.memlock_used, a, sizeof(a)));
		if (m.nr_rings)
			fprintf(o,
				" (about %s of it the own memory of %u rings)",
				rb_fmt_size(m.memlock_rings, a, sizeof(a)),
				m.nr_rings);
	}
	fputc('\n', o);
	fprintf(o, "  %-14s", "largest pool");
	for (unsigned i = 0; i < 4; i++) {
		uint64_t v = largest_pool(&m, largest_backings[i]);

		fprintf(o, "%s%s %s", i ? ", " : " ",
			regbuf_backing_name(largest_backings[i]),
			v == UINT64_MAX ? "memory"
			: v		? rb_fmt_size(v, a, sizeof(a))
					: "none");
	}
	fprintf(o, " (registered, now)\n");
	if (!m.cap_ipc_lock && m.memlock_limit < (1ULL << 30))
		fprintf(o,
			"  %-14s -> pools larger than this cannot register: raise it (ulimit -l, LimitMEMLOCK=) or grant CAP_IPC_LOCK\n",
			"");
	if (!brief) {
		int by_folio = registers_by_folio();

		fprintf(o, "  %-14s %d node(s), %d cpu(s), page %u B\n", "numa",
			m.numa_nodes, m.online_cpus, m.page_size);
		for (int n = 0; m.numa_nodes > 1 && n < NODE_SCAN; n++) {
			struct node_info ni;

			if (node_get(n, &ni))
				continue;
			fprintf(o,
				"  %-14s node %d: cpus %s, free hugepages 2M %ld, 1G %ld\n",
				"", ni.node, ni.cpus,
				ni.free_2m < 0 ? 0 : ni.free_2m,
				ni.free_1g < 0 ? 0 : ni.free_1g);
		}
		fprintf(o, "  %-14s %s%s\n", "by folio",
			by_folio_name(by_folio),
			by_folio > 0
				? " (pin_user_folios_fast: registration does no work per 4 KiB page of a huge folio)"
			: by_folio == 0
				? " (registration pins and walks every 4 KiB page)"
				: " (/proc/kallsyms cannot be read)");
	}
}

int cmd_info(int argc, char **argv)
{
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return usage_error("info", "unknown option '%s'",
					   argv[i]);
	}
	if (json)
		json_info();
	else
		print_info(stdout, false);
	return 0;
}
