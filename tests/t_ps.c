/* SPDX-License-Identifier: MIT */
/*
 * regbuf ps and top against programs that are not regbuf: this test
 * itself as a liburing program (two rings, one range registered in both,
 * a buffer mixing 4 KiB pages and THP), a regbuf pool attached to a third
 * ring (cloned from its anchor), and fio with --fixedbufs when fio is
 * installed. The JSON must list exactly what each registered; the advice
 * must name the range in two rings and the mixed buffer; top must answer
 * its keys in a terminal. Also: a sparse table with holes, a process of
 * another user (seen by root and by that user), processes with rings
 * exiting during machine-wide scans, bad input, and a snapshot among
 * 1000 more processes (its time reported).
 */
#include <liburing.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/mman.h>

#include "harness.h"

#define M2 (2ULL << 20)

static char out[1 << 20];

static int ps(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s/regbuf ps %s 2>&1",
		 getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD") : "build",
		 args);
	return t_popen(out, sizeof(out), cmd);
}

/* "addr":A,"len":L appears as a buffer of the ring with this fd. */
static bool ring_has(int fd, const void *addr, size_t len)
{
	char ring[64], buf[128];
	const char *r, *next;

	snprintf(ring, sizeof(ring), "{\"fd\":%d,", fd);
	r = strstr(out, ring);
	if (!r)
		return false;
	next = strstr(r + 1, "{\"fd\":");
	snprintf(buf, sizeof(buf), "\"addr\":%llu,\"len\":%llu",
		 (unsigned long long)(uintptr_t)addr, (unsigned long long)len);
	r = strstr(r, buf);
	return r && (!next || r < next);
}

static char *map_anon(size_t len)
{
	char *r = mmap(NULL, len + M2, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(r != MAP_FAILED);
	return (char *)(((uintptr_t)r + M2 - 1) & ~(uintptr_t)(M2 - 1));
}

static void own_rings(void)
{
	struct io_uring a, b, c;
	struct regbuf_pool_opts o;
	struct regbuf_pool *pool;
	char *thp = map_anon(2 * M2), *mixed = map_anon(2 * M2);
	char *small = map_anon(M2), args[64], want[96];
	/* at an 8 MiB memlock limit ring b holds no mixed buffer */
	unsigned nb = t_memlock_room() >= (12ULL << 20) ? 2 : 1;
	struct iovec ia[2], ib[2];
	struct regbuf_pool_info info = REGBUF_STRUCT_INIT(info);

	madvise(thp, 2 * M2, MADV_HUGEPAGE);
	memset(thp, 1, 2 * M2);
	madvise(small, M2, MADV_NOHUGEPAGE);
	memset(small, 1, M2);
	/* mixed: 4 KiB pages, then a THP */
	madvise(mixed, M2, MADV_NOHUGEPAGE);
	madvise(mixed + M2, M2, MADV_HUGEPAGE);
	memset(mixed, 1, 2 * M2);
	ia[0] = (struct iovec){thp, M2};
	ia[1] = (struct iovec){small, M2 / 2};
	ib[0] = (struct iovec){thp, M2}; /* the same range again */
	ib[1] = (struct iovec){mixed, 2 * M2};
	CHECK_EQ(io_uring_queue_init(4, &a, 0), 0);
	CHECK_EQ(io_uring_queue_init(4, &b, 0), 0);
	CHECK_EQ(io_uring_queue_init(4, &c, 0), 0);
	CHECK_EQ(io_uring_register_buffers(&a, ia, 2), 0);
	CHECK_EQ(io_uring_register_buffers(&b, ib, nb), 0);
	regbuf_pool_opts_init(&o);
	o.size = M2;
	o.backing = REGBUF_BACKING_PAGES;
	CHECK_EQ(regbuf_pool_create(&o, &pool), 0);
	CHECK(regbuf_pool_attach(pool, c.ring_fd, 0) > 0);
	CHECK_EQ(regbuf_pool_info(pool, &info), 0);

	snprintf(args, sizeof(args), "--pid %d --json", (int)getpid());
	CHECK_EQ(ps(args), 0);
	CHECK(ring_has(a.ring_fd, thp, M2));
	CHECK(ring_has(a.ring_fd, small, M2 / 2));
	CHECK(ring_has(b.ring_fd, thp, M2));
	CHECK(nb < 2 || ring_has(b.ring_fd, mixed, 2 * M2));
	CHECK(ring_has(c.ring_fd, regbuf_pool_base(pool), info.size));
	/* four rings: a, b, c and the pool's anchor */
	snprintf(want, sizeof(want), "\"rings\":4,\"buffers\":%u", 4 + nb);
	CHECK(strstr(out, want));
	{
		/* the THP range in two rings, the pool's in two (cloned) */
		snprintf(want, sizeof(want),
			 "{\"addr\":%llu,\"len\":%llu,\"rings\":2",
			 (unsigned long long)(uintptr_t)thp,
			 (unsigned long long)M2);
		CHECK(strstr(out, want));
		snprintf(want, sizeof(want),
			 "{\"addr\":%llu,\"len\":%llu,\"rings\":2",
			 (unsigned long long)(uintptr_t)regbuf_pool_base(pool),
			 (unsigned long long)info.size);
		CHECK(strstr(out, want));
	}
	CHECK(strstr(out, "is registered in 2 rings"));
	if (nb == 2)
		CHECK(strstr(out, "mixes folio sizes"));
	{
		/* close to the limit: the user's advice line */
		struct regbuf_machine m = REGBUF_STRUCT_INIT(m);

		CHECK_EQ(regbuf_machine_get(&m), 0);
		if (m.memlock_room != UINT64_MAX &&
		    m.memlock_used * 5 >= m.memlock_limit * 4)
			CHECK(strstr(out, "RLIMIT_MEMLOCK charged"));
	}
	snprintf(args, sizeof(args), "--pid %d", (int)getpid());
	CHECK_EQ(ps(args), 0);
	if (geteuid())
		CHECK(strstr(out, "note: not root"));
	snprintf(want, sizeof(want),
		 "total: 1 process(es), 4 ring(s), %u buffer(s)", 4 + nb);
	CHECK(strstr(out, want));
	printf("  this process: 4 rings (one regbuf's anchor), %u buffers, every one in the JSON at its address and length; the range in two rings%s advised\n",
	       4 + nb, nb == 2 ? " and the mixed buffer" : "");
	regbuf_pool_destroy(pool);
	io_uring_queue_exit(&a);
	io_uring_queue_exit(&b);
	io_uring_queue_exit(&c);
}

/* A ring whose lock is busy (another thread registering and unregistering
 * a large buffer on it over and over): each snapshot shows its table as
 * it is, or says it could not read it; it never shows anything else. */
static struct io_uring busy_ring;
static struct iovec busy_iov;
static int busy_stop;

static void *busy(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&busy_stop, __ATOMIC_RELAXED)) {
		if (io_uring_register_buffers(&busy_ring, &busy_iov, 1) == 0)
			io_uring_unregister_buffers(&busy_ring);
	}
	return NULL;
}

static void busy_lock(void)
{
	size_t len = t_fit(32 << 20, 1 << 20, 1 << 20, 0);
	char *mem = map_anon(len), ring[64], buf[96], args[64];
	unsigned complete = 0, unknown = 0, shown = 0;
	pthread_t th;

	madvise(mem, len, MADV_NOHUGEPAGE);
	memset(mem, 1, len); /* 4 KiB pages: each registration takes a while */
	busy_iov = (struct iovec){mem, len};
	CHECK_EQ(io_uring_queue_init(4, &busy_ring, 0), 0);
	CHECK_EQ(pthread_create(&th, NULL, busy, NULL), 0);
	snprintf(ring, sizeof(ring), "{\"fd\":%d,", busy_ring.ring_fd);
	snprintf(buf, sizeof(buf), "\"addr\":%llu,\"len\":%llu",
		 (unsigned long long)(uintptr_t)mem, (unsigned long long)len);
	snprintf(args, sizeof(args), "--pid %d --json", (int)getpid());
	for (int i = 0; i < 20; i++) {
		const char *r;

		CHECK_EQ(ps(args), 0);
		r = strstr(out, ring);
		if (!r)
			continue; /* no table at that moment: not a ring yet */
		if (strstr(r, "\"complete\":false")) {
			unknown++;
			CHECK(strstr(r, "\"buffers\":[]"));
		} else {
			complete++;
			/* the buffer, or an empty table, nothing else */
			shown += strstr(r, buf) != NULL;
			CHECK(strstr(r, buf) || strstr(r, "\"buffers\":[]"));
		}
	}
	__atomic_store_n(&busy_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	io_uring_queue_exit(&busy_ring);
	printf("  a ring busy registering %zu MiB over and over, read 20 times: %u complete (%u with the buffer), %u left out by the kernel and shown as unknown\n",
	       len >> 20, complete, shown, unknown);
}

/* fio with --fixedbufs: iodepth buffers of bs bytes, one registration. */
static void fio_fixedbufs(void)
{
	char cmd[1024], args[64];
	int fd, st;
	pid_t pid;
	bool found = false;

	if (t_popen(out, sizeof(out), "fio --version 2>/dev/null") != 0) {
		printf("  fio: not installed here, not run\n");
		return;
	}
	fd = t_open_scratch(16 << 20, 0);
	CHECK(fd >= 0);
	snprintf(cmd, sizeof(cmd),
		 "exec fio --name=ps --ioengine=io_uring --fixedbufs "
		 "--iodepth=4 --bs=64k --rw=read --size=16m --time_based "
		 "--runtime=60 --filename=/proc/self/fd/%d >/dev/null 2>&1",
		 fd);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* fio's worker is a child process: look for any process with 4
	 * buffers of 64 KiB among this user's */
	for (int i = 0; i < 200 && !found; i++) {
		usleep(50000);
		snprintf(args, sizeof(args), "--json");
		if (ps(args))
			continue;
		found = strstr(out, "\"comm\":\"fio\"") &&
			strstr(out, "\"len\":65536");
	}
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	close(fd);
	CHECK(found);
	{
		/* every fio buffer listed is 64 KiB, four per ring */
		const char *p = strstr(out, "\"comm\":\"fio\"");
		unsigned n = 0;

		for (const char *q = p; (q = strstr(q, "\"len\":65536")); q++)
			n++;
		CHECK(n >= 4);
	}
	printf("  fio --ioengine=io_uring --fixedbufs --iodepth=4 --bs=64k: its ring listed with 64 KiB buffers\n");
}

/* top in a terminal: it draws, changes its sort on s, quits on q. */
static void top_keys(void)
{
	char path[512], buf[1 << 14];
	size_t got = 0;
	bool sent = false;
	int master, st;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/regbuf",
		 getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD") : "build");
	pid = forkpty(&master, NULL, NULL, NULL);
	CHECK(pid >= 0);
	if (!pid) {
		setenv("TERM", "xterm", 1);
		execl(path, path, "top", "--interval", "0.2", (char *)NULL);
		_exit(127);
	}
	/* s once the first frame is up, then wait for a frame sorted by
	 * rings: 30 s at most (a sanitized build draws slowly). The buffer
	 * keeps its newer half when it fills. */
	for (int i = 0; i < 600; i++) {
		ssize_t n;

		usleep(50000);
		if (got > sizeof(buf) / 2) {
			memmove(buf, buf + got - sizeof(buf) / 4,
				sizeof(buf) / 4);
			got = sizeof(buf) / 4;
		}
		n = read(master, buf + got, sizeof(buf) - 1 - got);
		if (n > 0)
			got += (size_t)n;
		buf[got] = '\0';
		if (!sent && strstr(buf, "sort: pinned")) {
			CHECK_EQ(write(master, "s", 1), 1);
			sent = true;
			got = 0;
			continue;
		}
		if (sent && strstr(buf, "sort: rings"))
			break;
	}
	CHECK(strstr(buf, "sort: rings"));
	CHECK_EQ(write(master, "q", 1), 1);
	for (int i = 0; i < 100 && waitpid(pid, &st, WNOHANG) == 0; i++)
		usleep(50000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(master);
	printf("  top in a terminal: drew, sorted by rings on s, quit on q\n");
}

/* A sparse table with holes: only the slots that hold a buffer, at their
 * index, and the table's size. */
static void sparse_table(void)
{
	static char b1[4096] __attribute__((aligned(4096)));
	static char b2[8192] __attribute__((aligned(4096)));
	struct iovec v = {b1, sizeof(b1)};
	char args[64], want[160];
	struct io_uring d;

	CHECK_EQ(io_uring_queue_init(4, &d, 0), 0);
	CHECK_EQ(io_uring_register_buffers_sparse(&d, 8), 0);
	CHECK_EQ(io_uring_register_buffers_update_tag(&d, 2, &v, NULL, 1), 1);
	v = (struct iovec){b2, sizeof(b2)};
	CHECK_EQ(io_uring_register_buffers_update_tag(&d, 5, &v, NULL, 1), 1);
	snprintf(args, sizeof(args), "--pid %d --json", (int)getpid());
	CHECK_EQ(ps(args), 0);
	snprintf(
		want, sizeof(want),
		"{\"fd\":%d,\"slots\":8,\"complete\":true,\"buffers\":[{\"index\":2,\"addr\":%llu,\"len\":4096},{\"index\":5,\"addr\":%llu,\"len\":8192}]}",
		d.ring_fd, (unsigned long long)(uintptr_t)b1,
		(unsigned long long)(uintptr_t)b2);
	if (!strstr(out, want)) {
		fprintf(stderr, "want %s in\n%s\n", want, out);
		exit(1);
	}
	CHECK(strstr(out, "\"rings\":1,\"buffers\":2"));
	io_uring_queue_exit(&d);
	printf("  a sparse table of 8 slots with buffers in 2 and 5: those two at their index, the holes left out\n");
}

/* A process of another user (65534) with a ring: root sees it, and so
 * does that user; an unprivileged caller is told what needs root. */
static void other_user(void)
{
	static char buf[4096] __attribute__((aligned(4096)));
	int up[2], down[2], st;
	char args[96], want[128], c;
	pid_t pid;

	if (geteuid()) {
		/* pid 1 is root's */
		CHECK_EQ(ps("--pid 1"), 1);
		CHECK(strstr(
			out,
			"pid 1 is another user's: reading its rings needs root"));
		printf("  not root: another user's pid is refused with what needs root\n");
		return;
	}
	CHECK_EQ(pipe(up), 0);
	CHECK_EQ(pipe(down), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		struct iovec v = {buf, sizeof(buf)};
		struct io_uring r;

		close(up[0]);
		close(down[1]);
		if (setgid(65534) || setuid(65534))
			_exit(1);
		/* readable by its own user after the change of uid */
		prctl(PR_SET_DUMPABLE, 1);
		if (io_uring_queue_init(2, &r, 0) ||
		    io_uring_register_buffers(&r, &v, 1))
			_exit(2);
		if (write(up[1], "r", 1) != 1 || read(down[0], &c, 1) < 0)
			_exit(3);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	CHECK_EQ(read(up[0], &c, 1), 1);
	snprintf(want, sizeof(want), "\"pid\":%d,\"uid\":65534,", (int)pid);
	snprintf(args, sizeof(args), "--pid %d --json", (int)pid);
	CHECK_EQ(ps(args), 0);
	CHECK(strstr(out, want));
	CHECK(strstr(out, "\"rings\":1,\"buffers\":1"));
	{
		/* the same as uid 65534 itself, in a child of that uid */
		pid_t u = fork();

		CHECK(u >= 0);
		if (!u) {
			char cmd[512];

			if (setgid(65534) || setuid(65534))
				_exit(10);
			snprintf(cmd, sizeof(cmd), "%s/regbuf --version 2>&1",
				 getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD")
							: "build");
			if (t_popen(out, sizeof(out), cmd))
				_exit(11); /* cannot run the build tree */
			snprintf(cmd, sizeof(cmd), "--pid %d --json", (int)pid);
			if (ps(cmd) || !strstr(out, want) ||
			    !strstr(out, "\"rings\":1,\"buffers\":1"))
				_exit(12);
			/* and root's init is refused, with why */
			if (ps("--pid 1") != 1 || !strstr(out, "needs root"))
				_exit(13);
			_exit(0);
		}
		CHECK_EQ(waitpid(u, &st, 0), u);
		CHECK(WIFEXITED(st));
		if (WEXITSTATUS(st) == 11)
			printf("  uid 65534 cannot run the build tree: its own view not tried\n");
		else
			CHECK_EQ(WEXITSTATUS(st), 0);
	}
	CHECK_EQ(write(down[1], "q", 1), 1);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(up[0]);
	close(down[1]);
	printf("  uid 65534's process with a ring: listed for root and for uid 65534 itself, which is refused root's pid 1\n");
}

/* Processes with rings that come and go while the whole machine is
 * scanned: every snapshot completes, none reports an error. */
static void exiting(void)
{
	static char buf[4096] __attribute__((aligned(4096)));
	unsigned snaps = 0;
	pid_t churn;
	int st;

	churn = fork();
	CHECK(churn >= 0);
	if (!churn) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed test */
		for (;;) {
			pid_t c = fork();

			if (!c) {
				struct iovec v = {buf, sizeof(buf)};
				struct io_uring r;

				if (!io_uring_queue_init(2, &r, 0))
					io_uring_register_buffers(&r, &v, 1);
				usleep(2000);
				_exit(0);
			}
			if (c > 0)
				waitpid(c, NULL, 0);
		}
	}
	for (; snaps < 20; snaps++) {
		CHECK_EQ(ps("--json"), 0);
		CHECK(strstr(out, "\"totals\":"));
		CHECK(!strstr(out, "regbuf ps:"));
	}
	kill(churn, SIGKILL);
	CHECK_EQ(waitpid(churn, &st, 0), churn);
	printf("  %u machine-wide snapshots while processes with rings came and went: every one complete, no error\n",
	       snaps);
}

/* Bad input: a clear message and the CLI's exit status. */
static void bad_input(void)
{
	char args[64];

	CHECK_EQ(ps("--pid 2147483647"), 1);
	CHECK(strstr(out, "no process 2147483647"));
	CHECK_EQ(ps("--pid 0"), 2);
	CHECK(strstr(out, "bad pid '0'"));
	CHECK_EQ(ps("--pid -5"), 2);
	CHECK_EQ(ps("--user no-such-user-regbuf"), 2);
	CHECK(strstr(out, "no user 'no-such-user-regbuf'"));
	CHECK_EQ(ps("--frobnicate"), 2);
	/* this process, with no ring open now */
	snprintf(args, sizeof(args), "--pid %d", (int)getpid());
	CHECK_EQ(ps(args), 0);
	CHECK(strstr(out, "has no io_uring rings"));
	printf("  bad input: unknown pid (1), pid 0 and -5, unknown user, unknown option (2), a pid without rings (0, said)\n");
}

/* The cost of a snapshot on a busy machine: 1000 more processes, 50 of
 * them with two rings that hold a buffer each. Reported, not asserted
 * (timings belong in benchmarks): the snapshot must list them all. */
static void scale(void)
{
	enum { PROCS = 1000, RING_PROCS = 50 };
	static char buf[4096] __attribute__((aligned(4096)));
	static pid_t kids[PROCS];
	unsigned forked = 0, procs = 0, rings = 0;
	struct timespec t0, t1;
	int ready[2];
	const char *t;
	char c;

	CHECK_EQ(pipe(ready), 0);
	for (; forked < PROCS; forked++) {
		pid_t k = fork();

		if (k < 0)
			break; /* a process limit: fewer, said below */
		if (!k) {
			struct iovec v = {buf, sizeof(buf)};
			struct io_uring r[2];

			prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed test */
			close(ready[0]);
			for (int i = 0; forked < RING_PROCS && i < 2; i++)
				if (io_uring_queue_init(2, &r[i], 0) ||
				    io_uring_register_buffers(&r[i], &v, 1))
					_exit(1);
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		kids[forked] = k;
	}
	close(ready[1]);
	for (unsigned i = 0; i < forked; i++)
		CHECK_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	CHECK(forked > RING_PROCS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(ps("--json"), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t = strstr(out, "\"totals\":");
	CHECK(t && sscanf(t, "\"totals\":{\"processes\":%u,\"rings\":%u",
			  &procs, &rings) == 2);
	CHECK(procs >= RING_PROCS && rings >= 2 * RING_PROCS);
	for (unsigned i = 0; i < forked; i++)
		kill(kids[i], SIGKILL);
	for (unsigned i = 0; i < forked; i++)
		waitpid(kids[i], NULL, 0);
	printf("  %u more processes, %u of them with 2 rings: one snapshot listed %u processes with %u rings in %.0f ms\n",
	       forked, (unsigned)RING_PROCS, procs, rings,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

/* A pool cloned into three rings, as a database's postmaster holds its
 * shared buffers: the range is listed in 4 rings (with the anchor), and
 * where VmPin shows it charged once there is no advice to clone. */
static void cloned_only(void)
{
	struct regbuf_features f = REGBUF_STRUCT_INIT(f);
	struct regbuf_pool_opts o;
	struct regbuf_pool *pool;
	struct io_uring r[3];
	char args[64];
	long pin;

	regbuf_features_get(&f);
	regbuf_pool_opts_init(&o);
	o.size = 2 << 20;
	o.backing = REGBUF_BACKING_PAGES;
	CHECK_EQ(regbuf_pool_create(&o, &pool), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(io_uring_queue_init(4, &r[i], 0), 0);
		CHECK(regbuf_pool_attach(pool, r[i].ring_fd, 0) > 0);
	}
	pin = t_vmpin_kb();
	snprintf(args, sizeof(args), "--pid %d", (int)getpid());
	CHECK_EQ(ps(args), 0);
	CHECK(strstr(out, "in 4 ring(s)"));
	if ((f.features & REGBUF_FEAT_CLONE) && pin > 0 && pin <= 2048 + 4)
		CHECK(!strstr(out, "is registered in"));
	printf("  a pool cloned into 3 rings: one range in 4 rings, %s\n",
	       strstr(out, "is registered in") ? "advice to clone (VmPin "
						 "cannot tell here)"
					       : "no advice to clone");
	for (int i = 0; i < 3; i++)
		io_uring_queue_exit(&r[i]);
	regbuf_pool_destroy(pool);
}

/* The user's rings_own and nr_rings from `regbuf ps --user me --json`. */
static void user_rings(unsigned long long *own, unsigned long long *nr)
{
	char args[64];
	const char *u;

	snprintf(args, sizeof(args), "--user %u --json", (unsigned)getuid());
	CHECK_EQ(ps(args), 0);
	u = strstr(out, "\"users\":");
	CHECK(u);
	CHECK((u = strstr(u, "\"rings_own\":")));
	CHECK(sscanf(u, "\"rings_own\":%llu,\"nr_rings\":%llu", own, nr) == 2);
}

/*
 * The rings' own memory, charged to the user from 6.13 and never shown in
 * VmPin: in the user's total, each ring once, though a forked child holds
 * the same fds.
 */
static void rings_own(void)
{
	struct regbuf_features f = REGBUF_STRUCT_INIT(f);
	static struct io_uring r[16];
	struct regbuf_machine m = REGBUF_STRUCT_INIT(m);
	unsigned long long own1, nr1, own2, nr2;
	struct t_hold hold;
	bool cap;

	regbuf_features_get(&f);
	CHECK_EQ(regbuf_machine_get(&m), 0);
	cap = m.cap_ipc_lock;
	for (int i = 0; i < 16; i++)
		CHECK_EQ(io_uring_queue_init(64, &r[i], 0), 0);
	user_rings(&own1, &nr1);
	hold = t_hold_fork();
	user_rings(&own2, &nr2);
	t_hold_end(hold);
	CHECK_EQ(nr2, nr1);
	CHECK_EQ(own2, own1);
	if (cap) {
		/* rings made with CAP_IPC_LOCK charge nobody */
		CHECK_EQ(nr1, 0);
		CHECK_EQ(own1, 0);
	} else if (f.features & REGBUF_FEAT_RING_MEMLOCK) {
		/* 64 SQEs, 128 CQEs: a page for each region */
		CHECK(nr1 >= 16);
		CHECK(own1 >= 16 * 8192ULL);
	} else {
		CHECK_EQ(own1, 0);
	}
	printf("  rings' own memory: %llu rings of this user, %llu KiB%s, the "
	       "same with a child holding them too\n",
	       nr1, own1 >> 10, cap ? " (CAP_IPC_LOCK: not charged)" : "");
	for (int i = 0; i < 16; i++)
		io_uring_queue_exit(&r[i]);
}

int main(void)
{
	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	own_rings();
	bad_input();
	sparse_table();
	other_user();
	exiting();
	scale();
	cloned_only();
	rings_own();
	busy_lock();
	fio_fixedbufs();
	top_keys();
	return 0;
}
