/* SPDX-License-Identifier: MIT */
/*
 * The registered memory of the processes this one may look at, from what
 * the kernel shows of them:
 *  - /proc/PID/fd: links to "anon_inode:[io_uring]" are rings;
 *  - /proc/PID/fdinfo/FD of a ring: "UserBufs:\tN" and a line
 *    "IDX: 0xADDR/LEN" (or "IDX: <none>") per slot. The kernel leaves the
 *    list out when the ring's lock is busy (trylock): such a ring is read
 *    again a few times, then marked incomplete, never guessed;
 *  - /proc/PID/status: Uid, VmPin, CapEff; /proc/PID/limits: memlock;
 *  - the folio map of each distinct range (regbuf_map_create(), which reads
 *    pagemap/kpageflags) and regbuf's prediction and plan for it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ps.h"
#include "ringmem.h"

#define FDINFO_TRIES 5

static ssize_t slurp(const char *path, char **buf)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!b || fd < 0) {
		free(b);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb)
				break;
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	return (ssize_t)n;
}

static const char *field(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (!strncmp(p, name, n))
			return p + n;
	}
	return NULL;
}

const char *ps_user_name(uid_t uid, char *buf, size_t n)
{
	struct passwd *pw = getpwuid(uid);

	if (pw && pw->pw_name)
		snprintf(buf, n, "%s", pw->pw_name);
	else
		snprintf(buf, n, "%u", (unsigned)uid);
	return buf;
}

/* Parse a ring's fdinfo; false when the kernel left the list out. */
static bool parse_fdinfo(const char *text, struct ps_ring *r)
{
	const char *p = field(text, "UserBufs:");
	unsigned long nr, seen = 0;

	r->nr_bufs = 0;
	if (!p)
		return false; /* 7.x leaves out everything when busy */
	nr = strtoul(p, NULL, 10);
	r->nr_slots = (uint32_t)nr;
	free(r->bufs);
	r->bufs = nr ? calloc(nr, sizeof(*r->bufs)) : NULL;
	if (nr && !r->bufs)
		return false;
	p = strchr(p, '\n');
	while (p && seen < nr) {
		unsigned idx;
		unsigned long long addr, len;
		char *end;

		p++;
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		idx = (unsigned)strtoul(p, &end, 10);
		seen++;
		/* an empty slot: length 0, or before 6.13 the kernel's dummy
		 * buffer at address ~0 (length 1 on 6.1, 4 GiB - 1 on 6.12) */
		if (sscanf(end, ": 0x%llx/%llu", &addr, &len) == 2 && len &&
		    addr != ~0ULL && r->nr_bufs < nr)
			r->bufs[r->nr_bufs++] =
				(struct ps_buf){idx, (uint64_t)addr, len};
		p = strchr(p, '\n');
	}
	/* 6.1 prints the count but no slots when busy */
	return seen == nr;
}

static int read_ring(pid_t pid, int fd, struct ps_ring *r, uint32_t *retried)
{
	char path[64], *text;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	r->fd = fd;
	for (int i = 0; i < FDINFO_TRIES; i++) {
		if (slurp(path, &text) < 0)
			return -errno;
		r->complete = parse_fdinfo(text, r);
		free(text);
		if (r->complete)
			return 0;
		(*retried)++;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	return 0;
}

static int add_range(struct ps_proc *p, uint64_t addr, uint64_t len)
{
	struct ps_range *n;

	for (uint32_t i = 0; i < p->nr_ranges; i++)
		if (p->ranges[i].addr == addr && p->ranges[i].len == len) {
			p->ranges[i].rings++;
			return 0;
		}
	n = realloc(p->ranges, (p->nr_ranges + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->ranges = n;
	memset(&n[p->nr_ranges], 0, sizeof(*n));
	n[p->nr_ranges].addr = addr;
	n[p->nr_ranges].len = len;
	n[p->nr_ranges].rings = 1;
	p->nr_ranges++;
	return 0;
}

/* "hugetlb 2M x4, 4k x16": the map's runs by kind and folio size. */
static void summarize(const struct regbuf_map *m, struct ps_range *r)
{
	struct {
		int kind;
		uint64_t fsz, bytes;
	} k[8];
	unsigned nk = 0;
	size_t o = 0;

	for (uint32_t i = 0; i < m->nr_runs; i++) {
		const struct regbuf_run *run = &m->runs[i];
		unsigned j;

		if (run->kind == REGBUF_RUN_4K)
			r->nr_4k += (uint32_t)(run->len >> 12);
		for (j = 0; j < nk; j++)
			if (k[j].kind == (int)run->kind &&
			    k[j].fsz == run->folio_size)
				break;
		if (j == nk && nk < 8)
			k[nk++] = (typeof(k[0])){(int)run->kind,
						 run->folio_size, 0};
		if (j < nk)
			k[j].bytes += run->len;
	}
	r->map[0] = '\0';
	for (unsigned j = 0; j < nk && o < sizeof(r->map); j++) {
		char a[32];
		uint64_t fsz = k[j].fsz ? k[j].fsz : 4096;

		/* "4k x17", "thp 2 MiB x3" */
		if (k[j].kind == REGBUF_RUN_4K)
			a[0] = '\0';
		else
			rb_fmt_size(fsz, a + 1, sizeof(a) - 1), a[0] = ' ';
		o += (size_t)snprintf(r->map + o, sizeof(r->map) - o,
				      "%s%s%s x%llu", j ? ", " : "",
				      regbuf_run_kind_name(k[j].kind), a,
				      (unsigned long long)(k[j].bytes / fsz));
	}
}

void ps_map_range(pid_t pid, struct ps_range *r)
{
	struct regbuf_map *m;
	struct regbuf_prediction pr;
	struct iovec iov = {(void *)(uintptr_t)r->addr, r->len};
	struct regbuf_plan_slot slots[64];
	int ret = regbuf_map_create((int)pid, r->addr, r->len, &m), n;

	if (ret) {
		snprintf(r->why, sizeof(r->why), "%s", regbuf_last_error());
		return;
	}
	r->mapped = true;
	r->source = m->source;
	summarize(m, r);
	if (!regbuf_predict(m, &iov, 1, &pr)) {
		r->bvecs = pr.bvecs;
		r->charge = pr.charge;
		r->cost = pr.cost_class;
	}
	n = regbuf_plan(m, 0, slots, 64);
	r->plan_slots = n > 0 ? (uint32_t)n : 0;
	for (int i = 0; i < n && i < 64; i++)
		r->plan_bvecs += slots[i].bvecs;
	if (n > 64)
		r->plan_bvecs = 0; /* not all slots seen: no figure */
	regbuf_map_destroy(m);
}

static bool is_ring(pid_t pid, const char *fd)
{
	char path[300], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, "anon_inode:[io_uring]");
}

static void read_status(struct ps_proc *p)
{
	char path[64], *text;
	const char *v;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	if (slurp(path, &text) < 0)
		return;
	if ((v = field(text, "Name:")))
		sscanf(v, " %31s", p->comm);
	if ((v = field(text, "Uid:")))
		p->uid = (uid_t)strtoul(v, NULL, 10);
	if ((v = field(text, "VmPin:")))
		p->vmpin = strtoull(v, NULL, 10) << 10;
	if ((v = field(text, "CapEff:")))
		p->cap_ipc_lock = (strtoull(v, NULL, 16) >> 14) & 1;
	free(text);
	p->memlock = UINT64_MAX;
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)p->pid);
	if (slurp(path, &text) < 0)
		return;
	if ((v = field(text, "Max locked memory"))) {
		while (*v == ' ')
			v++;
		if (strncmp(v, "unlimited", 9))
			p->memlock = strtoull(v, NULL, 10);
	}
	free(text);
}

static void proc_free(struct ps_proc *p)
{
	for (uint32_t r = 0; r < p->nr_rings; r++)
		free(p->rings[r].bufs);
	free(p->rings);
	free(p->ranges);
}

/* The rings of process pid; 0 with p->nr_rings = 0 when it has none. */
static int scan_proc(pid_t pid, const struct ps_filter *f, struct ps_proc *p,
		     uint32_t *retried)
{
	char path[64];
	struct dirent *d;
	DIR *dir;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		struct ps_ring *n;

		if (!isdigit((unsigned char)d->d_name[0]) ||
		    !is_ring(pid, d->d_name))
			continue;
		n = realloc(p->rings, (p->nr_rings + 1) * sizeof(*n));
		if (!n)
			break;
		p->rings = n;
		memset(&n[p->nr_rings], 0, sizeof(*n));
		if (!read_ring(pid, atoi(d->d_name), &n[p->nr_rings], retried))
			p->nr_rings++;
	}
	closedir(dir);
	if (!p->nr_rings)
		return 0;
	read_status(p);
	if (f->uid != (uid_t)-1 && p->uid != f->uid) {
		proc_free(p);
		memset(p, 0, sizeof(*p));
		return 0;
	}
	for (uint32_t i = 0; i < p->nr_rings; i++)
		for (uint32_t b = 0; b < p->rings[i].nr_bufs; b++)
			add_range(p, p->rings[i].bufs[b].addr,
				  p->rings[i].bufs[b].len);
	for (uint32_t i = 0; i < p->nr_ranges; i++) {
		if (f->maps)
			ps_map_range(pid, &p->ranges[i]);
		p->charge += p->ranges[i].charge;
	}
	return 0;
}

static struct ps_user *user_of(struct ps_snap *s, uid_t uid)
{
	struct ps_user *n;

	for (uint32_t i = 0; i < s->nr_users; i++)
		if (s->users[i].uid == uid)
			return &s->users[i];
	n = realloc(s->users, (s->nr_users + 1) * sizeof(*n));
	if (!n)
		return NULL;
	s->users = n;
	n = &s->users[s->nr_users++];
	memset(n, 0, sizeof(*n));
	n->uid = uid;
	n->limit = UINT64_MAX;
	ps_user_name(uid, n->name, sizeof(n->name));
	return n;
}

/* Does the running kernel charge rings' own memory (probed)? */
static bool rings_charged(void)
{
	struct regbuf_features feats = REGBUF_STRUCT_INIT(feats);

	regbuf_features_get(&feats);
	return feats.features & REGBUF_FEAT_RING_MEMLOCK;
}

/*
 * What is charged to each user seen, over every process of it (rings or
 * not, and whatever --pid picked): VmPin, and where the kernel charges it
 * (REGBUF_FEAT_RING_MEMLOCK) the own memory of its rings, each ring once
 * however many of its processes hold it (src/ringmem.h). A process with
 * CAP_IPC_LOCK makes rings that charge nobody: its rings are not counted.
 */
static void charge_users(struct ps_snap *s)
{
	struct rb_ringset *sets =
		calloc(s->nr_users ? s->nr_users : 1, sizeof(*sets));
	bool rings = rings_charged();
	DIR *dir = opendir("/proc");
	struct dirent *d;

	if (!dir || !sets) {
		free(sets);
		if (dir)
			closedir(dir);
		return;
	}
	while ((d = readdir(dir))) {
		struct ps_proc p = {0};

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		p.pid = atoi(d->d_name);
		read_status(&p);
		for (uint32_t i = 0; i < s->nr_users; i++)
			if (s->users[i].uid == p.uid) {
				s->users[i].charged += p.vmpin;
				if (rings && !p.cap_ipc_lock)
					rb_ringset_scan(&sets[i], p.pid);
			}
	}
	closedir(dir);
	for (uint32_t i = 0; i < s->nr_users; i++) {
		s->users[i].rings_own = sets[i].bytes;
		s->users[i].nr_rings = sets[i].rings;
		s->users[i].charged += sets[i].bytes;
		rb_ringset_free(&sets[i]);
	}
	free(sets);
}

int ps_scan(const struct ps_filter *f, struct ps_snap *s)
{
	struct regbuf_machine m = REGBUF_STRUCT_INIT(m);
	DIR *dir = opendir("/proc");
	struct dirent *d;

	memset(s, 0, sizeof(*s));
	if (!dir)
		return -errno;
	s->all = geteuid() == 0;
	regbuf_machine_get(&m);
	s->huge_2m_free = m.huge_2m.free;
	while ((d = readdir(dir))) {
		struct ps_proc p, *n;
		pid_t pid;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		pid = atoi(d->d_name);
		if (f->pid && pid != f->pid)
			continue;
		if (scan_proc(pid, f, &p, &s->retried) || !p.nr_rings) {
			proc_free(&p);
			continue;
		}
		n = realloc(s->procs, (s->nr_procs + 1) * sizeof(*n));
		if (!n) {
			proc_free(&p);
			break;
		}
		s->procs = n;
		s->procs[s->nr_procs++] = p;
	}
	closedir(dir);
	for (uint32_t i = 0; i < s->nr_procs; i++) {
		struct ps_proc *p = &s->procs[i];
		struct ps_user *u = user_of(s, p->uid);

		for (uint32_t r = 0; r < p->nr_rings; r++)
			s->unknown += !p->rings[r].complete;
		if (!u)
			continue;
		u->procs++;
		if (!p->cap_ipc_lock) {
			u->enforced = true;
			if (p->memlock < u->limit)
				u->limit = p->memlock;
		}
	}
	charge_users(s);
	return 0;
}

void ps_free(struct ps_snap *s)
{
	for (uint32_t i = 0; i < s->nr_procs; i++)
		proc_free(&s->procs[i]);
	free(s->procs);
	free(s->users);
	memset(s, 0, sizeof(*s));
}
