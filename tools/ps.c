/* SPDX-License-Identifier: MIT */
/*
 * regbuf ps: which processes hold registered memory, in which rings, what
 * it costs the kernel, what is charged to whom against which memlock
 * limit, and what would register better. Any program's rings, not only
 * regbuf's: everything comes from /proc (ps_scan.c).
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ps.h"

const char ps_usage[] =
	"usage: regbuf ps [--pid P] [--user U] [--buffers] [--json]\n"
	"  Every process with io_uring rings (this user's, or all as root):\n"
	"  each ring's registered buffers, the distinct ranges behind them\n"
	"  with their folios, bio_vecs and cost, VmPin and the memlock\n"
	"  limit; per user what is charged against the limit; advice.\n"
	"  --buffers lists every slot of every ring.\n";

struct line_sink {
	char (*lines)[320];
	unsigned n, cap;
};

static void add_line(void *arg, const char *line)
{
	struct line_sink *s = arg;

	if (s->n == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 16;
		void *n = realloc(s->lines, cap * sizeof(*s->lines));

		if (!n)
			return;
		s->lines = n;
		s->cap = cap;
	}
	snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s", line);
}

static void emit(void (*fn)(void *, const char *), void *arg, const char *fmt,
		 ...) __attribute__((format(printf, 3, 4)));
static void emit(void (*fn)(void *, const char *), void *arg, const char *fmt,
		 ...)
{
	char line[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn(arg, line);
}

void ps_advice(const struct ps_snap *s, void (*fn)(void *, const char *),
	       void *arg)
{
	char a[32], b[32], c[32];

	for (uint32_t i = 0; i < s->nr_procs; i++) {
		const struct ps_proc *p = &s->procs[i];
		uint64_t once = 0, each = 0;

		for (uint32_t r = 0; r < p->nr_ranges; r++) {
			once += p->ranges[r].charge;
			each += p->ranges[r].charge * p->ranges[r].rings;
		}
		/* What VmPin says of the process's ranges in several rings:
		 * charged in each ring, or once (cloned: nothing to advise) */
		bool told = p->vmpin && once != each;
		bool in_each = told && p->vmpin + (4 << 10) >= each;
		bool cloned = told && !in_each && p->vmpin <= once + (4 << 10);

		for (uint32_t r = 0; r < p->nr_ranges; r++) {
			const struct ps_range *g = &p->ranges[r];
			bool mixed;

			if (g->rings > 1 && !(g->charge && cloned))
				emit(fn, arg,
				     "pid %d (%s): %s at 0x%llx is registered in %u rings: cloning the table (IORING_REGISTER_CLONE_BUFFERS, 6.12+) pins it once instead of %u times, and from 6.14 charges it once%s",
				     (int)p->pid, p->comm,
				     rb_fmt_size(g->len, a, sizeof(a)),
				     (unsigned long long)g->addr, g->rings,
				     g->rings,
				     g->charge && in_each
					     ? "; VmPin shows it charged in each ring"
					     : "");
			/* Mixed folio sizes: as one buffer, a bio_vec per
			 * 4 KiB page (and before 7.2 a rescan per huge
			 * folio); the plan's cut at each change of size
			 * lets the huge part coalesce. */
			mixed = g->mapped && g->plan_bvecs &&
				g->plan_slots > 1 && g->plan_bvecs < g->bvecs;
			if (mixed)
				emit(fn, arg,
				     "pid %d (%s): %s at 0x%llx mixes folio sizes (%s): as one buffer the kernel builds %llu bio_vecs%s; split where the backing changes it takes %llu",
				     (int)p->pid, p->comm,
				     rb_fmt_size(g->len, a, sizeof(a)),
				     (unsigned long long)g->addr, g->map,
				     (unsigned long long)g->bvecs,
				     g->cost == REGBUF_COST_MIXED
					     ? " and rescans it per huge folio"
					     : "",
				     (unsigned long long)g->plan_bvecs);
			if (!mixed && g->mapped &&
			    g->cost == REGBUF_COST_PER_PAGE &&
			    g->len >= (2 << 20) &&
			    s->huge_2m_free * (2ULL << 20) >= g->len)
				emit(fn, arg,
				     "pid %d (%s): %s at 0x%llx is 4 KiB pages (%llu bio_vecs) while %llu 2 MiB hugepages are free: on them it would take %llu and register about 20x faster",
				     (int)p->pid, p->comm,
				     rb_fmt_size(g->len, a, sizeof(a)),
				     (unsigned long long)g->addr,
				     (unsigned long long)g->bvecs,
				     (unsigned long long)s->huge_2m_free,
				     (unsigned long long)((g->len + (2 << 20) -
							   1) >>
							  21));
		}
	}
	for (uint32_t i = 0; i < s->nr_users; i++) {
		const struct ps_user *u = &s->users[i];

		if (!u->enforced || u->limit == UINT64_MAX || !u->limit ||
		    u->charged * 5 < u->limit * 4)
			continue;
		emit(fn, arg,
		     "user %s: %s of its %s RLIMIT_MEMLOCK charged (%llu%%): registering more than %s now fails with ENOMEM",
		     u->name, rb_fmt_size(u->charged, a, sizeof(a)),
		     rb_fmt_size(u->limit, b, sizeof(b)),
		     (unsigned long long)(u->charged * 100 / u->limit),
		     rb_fmt_size(u->charged < u->limit ? u->limit - u->charged
						       : 0,
				 c, sizeof(c)));
	}
	if (s->unknown)
		emit(fn, arg,
		     "%u ring(s) were busy each time they were read: their buffers are unknown, not counted",
		     s->unknown);
}

static const char *limit_str(uint64_t v, bool cap, char *buf, size_t n)
{
	if (cap)
		return "not enforced";
	if (v == UINT64_MAX)
		return "unlimited";
	return rb_fmt_size(v, buf, n);
}

void ps_print_text(const struct ps_snap *s, bool buffers)
{
	struct line_sink adv = {0};
	uint64_t pinned = 0, bufs = 0, rings = 0;
	char a[32], b[32], c[32];

	printf("%-7s %-8s %-15s %5s %6s %10s %10s %10s\n", "PID", "USER",
	       "COMMAND", "RINGS", "BUFS", "RANGES", "VMPIN", "MEMLOCK");
	for (uint32_t i = 0; i < s->nr_procs; i++) {
		const struct ps_proc *p = &s->procs[i];
		uint64_t nb = 0;
		char user[32];

		for (uint32_t r = 0; r < p->nr_rings; r++)
			nb += p->rings[r].nr_bufs;
		printf("%-7d %-8.8s %-15.15s %5u %6llu %10u %10s %10s\n",
		       (int)p->pid, ps_user_name(p->uid, user, sizeof(user)),
		       p->comm, p->nr_rings, (unsigned long long)nb,
		       p->nr_ranges, rb_fmt_size(p->vmpin, a, sizeof(a)),
		       limit_str(p->memlock, p->cap_ipc_lock, b, sizeof(b)));
		for (uint32_t r = 0; r < p->nr_rings; r++) {
			const struct ps_ring *g = &p->rings[r];

			printf("    ring fd %d: %u of %u slots hold a buffer%s\n",
			       g->fd, g->nr_bufs, g->nr_slots,
			       g->complete ? ""
					   : " (list left out by the kernel: "
					     "busy, unknown)");
			for (uint32_t k = 0; buffers && k < g->nr_bufs; k++)
				printf("      %5u: 0x%llx/%llu\n",
				       g->bufs[k].index,
				       (unsigned long long)g->bufs[k].addr,
				       (unsigned long long)g->bufs[k].len);
		}
		for (uint32_t r = 0; r < p->nr_ranges; r++) {
			const struct ps_range *g = &p->ranges[r];

			if (!g->mapped) {
				printf("    0x%llx %9s in %u ring(s): folios not readable (%s)\n",
				       (unsigned long long)g->addr,
				       rb_fmt_size(g->len, a, sizeof(a)),
				       g->rings, g->why);
				continue;
			}
			printf("    0x%llx %9s in %u ring(s): %s; %llu bio_vecs, %s, charge %s\n",
			       (unsigned long long)g->addr,
			       rb_fmt_size(g->len, a, sizeof(a)), g->rings,
			       g->map, (unsigned long long)g->bvecs,
			       regbuf_cost_class_name(g->cost),
			       rb_fmt_size(g->charge, c, sizeof(c)));
		}
		pinned += p->vmpin;
		bufs += nb;
		rings += p->nr_rings;
	}
	if (s->nr_users)
		printf("\nmemlock by user (registered memory is charged per user, across all its processes):\n");
	for (uint32_t i = 0; i < s->nr_users; i++) {
		const struct ps_user *u = &s->users[i];

		if (!u->enforced)
			printf("  %-10s %10s charged, not enforced (CAP_IPC_LOCK)\n",
			       u->name, rb_fmt_size(u->charged, a, sizeof(a)));
		else if (u->limit == UINT64_MAX)
			printf("  %-10s %10s charged, no limit\n", u->name,
			       rb_fmt_size(u->charged, a, sizeof(a)));
		else
			printf("  %-10s %10s charged of %s (%llu%%)", u->name,
			       rb_fmt_size(u->charged, a, sizeof(a)),
			       rb_fmt_size(u->limit, b, sizeof(b)),
			       (unsigned long long)(u->limit
							    ? u->charged * 100 /
								      u->limit
							    : 0));
		if (u->enforced && u->limit != UINT64_MAX)
			printf(u->rings_own ? ", about %s of it the own memory "
					      "of %u rings\n"
					    : "\n",
			       rb_fmt_size(u->rings_own, a, sizeof(a)),
			       u->nr_rings);
	}
	printf("\ntotal: %u process(es), %llu ring(s), %llu buffer(s), %s pinned\n",
	       s->nr_procs, (unsigned long long)rings, (unsigned long long)bufs,
	       rb_fmt_size(pinned, a, sizeof(a)));
	ps_advice(s, add_line, &adv);
	for (unsigned i = 0; i < adv.n; i++)
		printf("advice: %s.\n", adv.lines[i]);
	free(adv.lines);
	if (!s->all)
		printf("note: not root: only this user's processes are shown, and folios come from PAGEMAP_SCAN (root reads every process, and kpageflags exactly)\n");
}

static void print_json(const struct ps_snap *s)
{
	struct line_sink adv = {0};
	uint64_t pinned = 0, bufs = 0, rings = 0;
	struct json j;
	char user[32];

	json_begin(&j, stdout);
	json_arr(&j, "processes");
	for (uint32_t i = 0; i < s->nr_procs; i++) {
		const struct ps_proc *p = &s->procs[i];

		json_obj(&j, NULL);
		json_int(&j, "pid", p->pid);
		json_int(&j, "uid", p->uid);
		json_str(&j, "user", ps_user_name(p->uid, user, sizeof(user)));
		json_str(&j, "comm", p->comm);
		json_u64(&j, "vmpin", p->vmpin);
		if (p->memlock == UINT64_MAX)
			json_null(&j, "memlock_limit");
		else
			json_u64(&j, "memlock_limit", p->memlock);
		json_bool(&j, "cap_ipc_lock", p->cap_ipc_lock);
		json_arr(&j, "rings");
		for (uint32_t r = 0; r < p->nr_rings; r++) {
			const struct ps_ring *g = &p->rings[r];

			json_obj(&j, NULL);
			json_int(&j, "fd", g->fd);
			json_int(&j, "slots", g->nr_slots);
			json_bool(&j, "complete", g->complete);
			json_arr(&j, "buffers");
			for (uint32_t k = 0; k < g->nr_bufs; k++) {
				json_obj(&j, NULL);
				json_int(&j, "index", g->bufs[k].index);
				json_u64(&j, "addr", g->bufs[k].addr);
				json_u64(&j, "len", g->bufs[k].len);
				json_close(&j, '}');
			}
			json_close(&j, ']');
			json_close(&j, '}');
			bufs += g->nr_bufs;
		}
		json_close(&j, ']');
		json_arr(&j, "ranges");
		for (uint32_t r = 0; r < p->nr_ranges; r++) {
			const struct ps_range *g = &p->ranges[r];

			json_obj(&j, NULL);
			json_u64(&j, "addr", g->addr);
			json_u64(&j, "len", g->len);
			json_int(&j, "rings", g->rings);
			json_bool(&j, "mapped", g->mapped);
			if (g->mapped) {
				json_str(&j, "source",
					 regbuf_map_source_name(g->source));
				json_str(&j, "folios", g->map);
				json_u64(&j, "bvecs", g->bvecs);
				json_u64(&j, "plan_bvecs", g->plan_bvecs);
				json_u64(&j, "charge", g->charge);
				json_str(&j, "cost_class",
					 regbuf_cost_class_name(g->cost));
			} else {
				json_str(&j, "why", g->why);
			}
			json_close(&j, '}');
		}
		json_close(&j, ']');
		json_close(&j, '}');
		pinned += p->vmpin;
		rings += p->nr_rings;
	}
	json_close(&j, ']');
	json_arr(&j, "users");
	for (uint32_t i = 0; i < s->nr_users; i++) {
		const struct ps_user *u = &s->users[i];

		json_obj(&j, NULL);
		json_int(&j, "uid", u->uid);
		json_str(&j, "user", u->name);
		json_u64(&j, "charged", u->charged);
		json_u64(&j, "rings_own", u->rings_own);
		json_u64(&j, "nr_rings", u->nr_rings);
		json_bool(&j, "enforced", u->enforced);
		if (u->limit == UINT64_MAX)
			json_null(&j, "limit");
		else
			json_u64(&j, "limit", u->limit);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_obj(&j, "totals");
	json_int(&j, "processes", s->nr_procs);
	json_u64(&j, "rings", rings);
	json_u64(&j, "buffers", bufs);
	json_u64(&j, "pinned", pinned);
	json_int(&j, "unknown_rings", s->unknown);
	json_close(&j, '}');
	ps_advice(s, add_line, &adv);
	json_arr(&j, "advice");
	for (unsigned i = 0; i < adv.n; i++)
		json_str(&j, NULL, adv.lines[i]);
	json_close(&j, ']');
	json_bool(&j, "all_processes", s->all);
	json_end(&j);
	free(adv.lines);
}

/* --pid P, --user U (a name or a uid): 0, or a usage error. */
int ps_parse_filter(const char *cmd, int argc, char **argv, struct ps_filter *f,
		    int *i)
{
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (!strcmp(argv[*i], "--pid") && v) {
		f->pid = atoi(v);
		++*i;
		return f->pid > 0 ? 0 : usage_error(cmd, "bad pid '%s'", v);
	}
	if (!strcmp(argv[*i], "--user") && v) {
		struct passwd *pw = getpwnam(v);
		char *end;

		++*i;
		if (pw) {
			f->uid = pw->pw_uid;
			return 0;
		}
		f->uid = (uid_t)strtoul(v, &end, 10);
		return *end ? usage_error(cmd, "no user '%s'", v) : 0;
	}
	return usage_error(cmd, "unknown option '%s'", argv[*i]);
}

/* --pid P found no rings: 1 with the reason when P is gone or cannot be
 * read, 0 when it simply has none. */
static int pid_without_rings(pid_t pid)
{
	char path[64];
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d) {
		closedir(d);
		return 0;
	}
	if (errno == ENOENT)
		fprintf(stderr, "regbuf ps: no process %d\n", (int)pid);
	else if (errno == EACCES || errno == EPERM)
		fprintf(stderr,
			"regbuf ps: pid %d is another user's: reading its rings needs root\n",
			(int)pid);
	else
		fprintf(stderr, "regbuf ps: cannot read %s: %s\n", path,
			strerror(errno));
	return 1;
}

int cmd_ps(int argc, char **argv)
{
	struct ps_filter f = {.uid = (uid_t)-1, .maps = true};
	struct ps_snap s;
	bool json = false, buffers = false;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--buffers"))
			buffers = true;
		else if ((ret = ps_parse_filter("ps", argc, argv, &f, &i)))
			return ret;
	}
	ret = ps_scan(&f, &s);
	if (ret) {
		fprintf(stderr, "regbuf ps: cannot read /proc: %s\n",
			strerror(-ret));
		return 1;
	}
	if (f.pid && !s.nr_procs && (ret = pid_without_rings(f.pid))) {
		ps_free(&s);
		return ret;
	}
	if (json)
		print_json(&s);
	else
		ps_print_text(&s, buffers);
	if (f.pid && !s.nr_procs && !json)
		printf("pid %d has no io_uring rings\n", (int)f.pid);
	ps_free(&s);
	return 0;
}
