/* SPDX-License-Identifier: MIT */
/*
 * Pools in the situations users meet: a thread pool whose rings come and
 * go while others do I/O; a ring created by another user (clone refused,
 * the fallback registers); a SHARED pool imported by a forked child; an
 * unprivileged user with a small RLIMIT_MEMLOCK; bad input to every pool
 * call, changing nothing.
 */
#include <liburing.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "harness.h"
#include "ring.h"
#include "sys.h"

#define BS 65536

static int io_roundtrip(struct io_uring *ring, int fd, struct regbuf_pool *p,
			unsigned base, uint64_t seed, uint64_t off)
{
	struct regbuf_buf w, r;
	int ok = 1;

	if (regbuf_alloc(p, BS, 0, &w) || regbuf_alloc(p, BS, 0, &r))
		return 0;
	t_fill(w.addr, BS, seed);
	memset(r.addr, 0, BS);
	ok &= t_write_fixed(ring, fd, w.addr, BS, off, (int)base + w.slot) ==
	      BS;
	ok &= t_read_fixed(ring, fd, r.addr, BS, off, (int)base + r.slot) == BS;
	ok &= t_verify(r.addr, BS, seed);
	regbuf_free(p, &w);
	regbuf_free(p, &r);
	return ok;
}

/* ---- thread pool ---- */

struct th {
	struct regbuf_pool *pool;
	int fd, id, ok, rounds;
};

static void *churn(void *arg)
{
	struct th *t = arg;

	t->ok = 1;
	for (int i = 0; i < t->rounds; i++) {
		struct io_uring ring;
		int m;

		if (io_uring_queue_init(4, &ring, 0)) {
			t->ok = 0;
			break;
		}
		m = regbuf_pool_attach(t->pool, ring.ring_fd,
				       (unsigned)(i % 3));
		if (m <= 0 ||
		    !io_roundtrip(&ring, t->fd, t->pool, (unsigned)(i % 3),
				  (uint64_t)(t->id * 1000 + i),
				  (uint64_t)(t->id * 64 + i % 64) * BS))
			t->ok = 0;
		/* Half the rings are closed without detach. */
		if (i % 2)
			regbuf_pool_detach(t->pool, ring.ring_fd);
		io_uring_queue_exit(&ring);
		if (!t->ok)
			break;
	}
	return NULL;
}

static void test_threads(int fd)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	struct th t[4];
	pthread_t th[4];

	regbuf_pool_opts_init(&o);
	/* 16 MiB, or what RLIMIT_MEMLOCK leaves for it and 4 rings */
	o.size = t_fit_n(16 << 20, 2 << 20, 2 << 20, 0, t_charges(4));
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct th){.pool = p, .fd = fd, .id = i, .rounds = 60};
		CHECK_EQ(pthread_create(&th[i], NULL, churn, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(t[i].ok);
	}
	regbuf_pool_destroy(p);
	/* closed rings give their pins back from a kernel work item */
	t_vmpin_settled(0);
	printf("  4 threads x 60 rings created, attached, used, closed\n");
}

/* ---- clone refused ---- */

/* io_uring fds cannot travel over SCM_RIGHTS: take the child's with
 * pidfd_getfd(2). */
static int grab_fd(pid_t pid, int target)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), fd;

	if (pfd < 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_getfd, pfd, target, 0);
	close(pfd);
	return fd;
}

static void test_clone_refused(int fd)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	struct io_uring ring;
	int sv[2], sv2[2], st;
	pid_t pid;

	regbuf_pool_opts_init(&o);
	o.size = 2 << 20;
	o.backing = REGBUF_BACKING_PAGES;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);

	/* Forced through the seam: clone fails, register is used. */
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	rb_sys_fault(RB_SYS_REGISTER, IORING_REGISTER_CLONE_BUFFERS, 1, EINVAL);
	CHECK_EQ(regbuf_pool_attach(p, ring.ring_fd, 0),
		 REGBUF_ATTACH_REGISTER);
	rb_sys_fault_clear();
	CHECK(io_roundtrip(&ring, fd, p, 0, 77, 0));
	CHECK_EQ(regbuf_pool_detach(p, ring.ring_fd), 0);
	io_uring_queue_exit(&ring);

	/* For real: a ring created by another user. */
	if (geteuid() != 0) {
		printf("  clone refused by another user: not root, skipped\n");
		regbuf_pool_destroy(p);
		return;
	}
	CHECK_EQ(pipe(sv), 0);
	CHECK_EQ(pipe(sv2), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		struct io_uring_params cp;
		struct io_uring r;
		char c;

		memset(&cp, 0, sizeof(cp));
		if (setgid(65534) || setuid(65534) ||
		    io_uring_queue_init_params(4, &r, &cp))
			_exit(1);
		if (write(sv[1], &r.ring_fd, sizeof(int)) != sizeof(int) ||
		    write(sv[1], &cp, sizeof(cp)) != sizeof(cp) ||
		    read(sv2[0], &c, 1) != 1) /* until the parent is done */
			_exit(1);
		_exit(0);
	}
	{
		int cfd = -1, rfd, m;
		struct io_uring_params prm;
		struct io_uring r;

		CHECK_EQ(read(sv[0], &cfd, sizeof(int)), sizeof(int));
		CHECK_EQ(read(sv[0], &prm, sizeof(prm)), sizeof(prm));
		rfd = grab_fd(pid, cfd);
		CHECK(rfd >= 0);
		m = regbuf_pool_attach(p, rfd, 0);
		CHECK_EQ(m, REGBUF_ATTACH_REGISTER);
		/* Drive the other user's ring from here. */
		CHECK_EQ(io_uring_queue_mmap(rfd, &prm, &r), 0);
		CHECK(io_roundtrip(&r, fd, p, 0, 78, BS));
		CHECK_EQ(regbuf_pool_detach(p, rfd), 0);
		io_uring_queue_exit(&r);
		CHECK_EQ(write(sv2[1], "x", 1), 1);
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	close(sv[0]);
	close(sv[1]);
	close(sv2[0]);
	close(sv2[1]);
	regbuf_pool_destroy(p);
	printf("  clone refused (forced, and a ring of uid 65534): registered "
	       "instead, data verified\n");
}

/* ---- shared ---- */

static void test_shared(int fd)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	int st;
	pid_t pid;
	uint8_t *base;

	regbuf_pool_opts_init(&o);
	/* registered here and again by the importer, which attaches it */
	o.size = t_fit_n(4 << 20, 2 << 20, 2 << 20, 0, 1 + t_charges(1));
	o.backing = t_free_huge("2048") >= 2 ? REGBUF_BACKING_HUGE_2M
					     : REGBUF_BACKING_PAGES;
	o.flags = REGBUF_POOL_SHARED;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK(regbuf_pool_fd(p) >= 0);
	base = regbuf_pool_base(p);
	memset(base, 0, regbuf_pool_size(p));
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		struct regbuf_pool *q;
		struct io_uring ring;
		uint8_t *b;

		if (regbuf_pool_import(regbuf_pool_fd(p), NULL, &q) ||
		    io_uring_queue_init(4, &ring, 0) ||
		    regbuf_pool_attach(q, ring.ring_fd, 0) <= 0)
			_exit(2);
		b = regbuf_pool_base(q);
		t_fill(b, BS, 4242);
		if (t_write_fixed(&ring, fd, b, BS, 0, 0) != BS)
			_exit(3);
		if (t_read_fixed(&ring, fd, b + (1 << 20), BS, 0, 0) != BS)
			_exit(4);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	CHECK(t_verify(base, BS, 4242));
	CHECK(t_verify(base + (1 << 20), BS, 4242));
	regbuf_pool_destroy(p);
	printf("  shared %s pool: child imported, wrote and read with fixed "
	       "buffers, parent sees the bytes\n",
	       regbuf_backing_name(o.backing));
}

/* ---- memlock, unprivileged ---- */

/* As an accounted (unprivileged) process, the model against the kernel:
 * three buffers X, Y, X' where X and X' share a huge page are charged what
 * regbuf_predict() says (the huge page twice before 7.2, once per ring
 * from 7.2), measured in VmPin; attaching a pool by clone charges nothing
 * more, and the attach cost class is the one the kernel has. */
static void accounted_model(void)
{
	struct regbuf_features f = REGBUF_STRUCT_INIT(f);
	struct regbuf_pool_info info = REGBUF_STRUCT_INIT(info);
	struct regbuf_prediction pr[3];
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	struct regbuf_map *m;
	struct io_uring ring;
	struct iovec iov[3];
	uint64_t want = 0;
	char *raw, *mem;
	long pin0;
	int method;

	regbuf_features_get(&f);
	raw = mmap(NULL, 10 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(raw != MAP_FAILED);
	mem = (char *)(((uintptr_t)raw + (2 << 20) - 1) &
		       ~(uintptr_t)((2 << 20) - 1));
	madvise(mem, 4 << 20, MADV_HUGEPAGE);
	memset(mem, 1, 4 << 20);
	iov[0] = (struct iovec){mem, 4096};
	iov[1] = (struct iovec){mem + (2 << 20), 4096};
	iov[2] = (struct iovec){mem + 8192, 4096};
	CHECK_EQ(regbuf_map_create(0, (uint64_t)(uintptr_t)mem, 4 << 20, &m),
		 0);
	CHECK_EQ(regbuf_predict(m, iov, 3, pr), 0);
	for (int i = 0; i < 3; i++)
		want += pr[i].charge;
	regbuf_map_destroy(m);
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	pin0 = t_vmpin_kb();
	CHECK_EQ(io_uring_register_buffers(&ring, iov, 3), 0);
	CHECK_EQ((t_vmpin_kb() - pin0) * 1024, (long)want);
	io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	munmap(raw, 10 << 20);
	printf("  unprivileged: X, Y, X' on %s: charged %llu KiB as predicted "
	       "(%s)\n",
	       want > 3 * 4096 ? "huge pages" : "4 KiB pages",
	       (unsigned long long)(want >> 10),
	       f.features & REGBUF_FEAT_HPAGE_PER_RING
		       ? "a huge page once per ring"
		       : "the huge page again after another one (6.13 to 7.1)");
	/* clone charges nothing more; the cost class is this kernel's */
	regbuf_pool_opts_init(&o);
	o.size = 2 << 20;
	o.backing = REGBUF_BACKING_PAGES;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	pin0 = t_vmpin_kb();
	method = regbuf_pool_attach(p, ring.ring_fd, 0);
	CHECK(method > 0);
	if (method != REGBUF_ATTACH_REGISTER)
		CHECK_EQ(t_vmpin_kb(), pin0);
	CHECK_EQ(info.attach_cost, !(f.features & REGBUF_FEAT_CLONE)
					   ? REGBUF_ATTACH_COST_REGISTER
				   : f.features & REGBUF_FEAT_HPAGE_XARRAY
					   ? REGBUF_ATTACH_COST_PER_BVEC
					   : REGBUF_ATTACH_COST_PER_SLOT);
	printf("  unprivileged: attach by %s, VmPin %s, cost class %s (%llu "
	       "units)\n",
	       regbuf_attach_method_name(method),
	       method == REGBUF_ATTACH_REGISTER ? "charged again" : "unchanged",
	       regbuf_attach_cost_name(info.attach_cost),
	       (unsigned long long)info.attach_cost_units);
	fflush(stdout);
	io_uring_queue_exit(&ring);
	regbuf_pool_destroy(p);
}

/* PARTIAL with a pool that is one slot bigger than the limit: the slot is
 * split so that what fits is registered, and the flags, the notes and the
 * charge (checked against VmPin) say so; then with no room at all. */
static void partial_one_slot(uint64_t limit)
{
	struct regbuf_pool_info info = REGBUF_STRUCT_INIT(info);
	struct regbuf_slot_info si = REGBUF_STRUCT_INIT(si);
	struct regbuf_pool_opts o;
	struct regbuf_pool *p, *full;
	long pin0 = t_vmpin_kb();

	regbuf_pool_opts_init(&o);
	o.backing = REGBUF_BACKING_PAGES;
	o.size = 64 << 20; /* one 64 MiB slot by default */
	o.flags = REGBUF_POOL_PARTIAL;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK(info.flags & REGBUF_INFO_PARTIAL);
	CHECK(!(info.flags & REGBUF_INFO_REGISTERED));
	CHECK_EQ(info.nr_registered_slots, 1);
	CHECK_EQ(info.nr_slots, 2);
	CHECK(info.registered_bytes > 0 && info.registered_bytes < limit);
	CHECK(info.registered_bytes + (16 << 10) + 4096 > limit);
	CHECK_EQ((t_vmpin_kb() - pin0) * 1024, (long)info.memlock_charge);
	CHECK(strstr(info.notes, "memlock: 1 of 2 slots"));
	CHECK_EQ(regbuf_pool_slot(p, 0, &si), 0);
	CHECK(si.registered && si.len == info.registered_bytes);
	printf("  PARTIAL, one 64 MiB slot, memlock %llu KiB: %llu KiB "
	       "registered as slot 0, the rest plain memory\n",
	       (unsigned long long)(limit >> 10),
	       (unsigned long long)(info.registered_bytes >> 10));
	fflush(stdout);
	/* the budget is spent: the next pool registers nothing, and says so */
	CHECK_EQ(regbuf_pool_create(&o, &full), 0);
	info = (struct regbuf_pool_info)REGBUF_STRUCT_INIT(info);
	CHECK_EQ(regbuf_pool_info(full, &info), 0);
	CHECK_EQ(info.nr_registered_slots, 0);
	CHECK(info.flags & REGBUF_INFO_PARTIAL);
	CHECK(strstr(info.notes, "nothing registered"));
	regbuf_pool_destroy(full);
	regbuf_pool_destroy(p);
}

/*
 * What the kernel charges beside VmPin: from 6.13 each ring's own SQ/CQ
 * memory counts against RLIMIT_MEMLOCK without showing in /proc. With 64
 * rings of 256 entries open (a database's postmaster holds hundreds), a
 * PARTIAL adopt of untouched shared memory, as a postmaster adopts its
 * shared buffers, still registers what really fits, and says that the
 * kernel took more than /proc showed.
 */
static void partial_hidden_charge(void)
{
	struct regbuf_pool_info info = REGBUF_STRUCT_INIT(info);
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	static struct io_uring rings[64];
	size_t len = 64 << 20;
	unsigned n = 0;
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct regbuf_machine m = REGBUF_STRUCT_INIT(m);
	uint64_t room;

	CHECK(mem != MAP_FAILED);
	while (n < 64 && !io_uring_queue_init(256, &rings[n], 0))
		n++;
	CHECK(n > 0);
	CHECK_EQ(regbuf_machine_get(&m), 0);
	/* what /proc shows left, less the anchor ring's slack */
	room = m.memlock_room - (16 << 10);
	regbuf_pool_opts_init(&o);
	o.flags = REGBUF_POOL_PARTIAL;
	CHECK_EQ(regbuf_pool_adopt(mem, len, &o, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK(info.flags & REGBUF_INFO_PARTIAL);
	if (info.nr_registered_slots != 1)
		fprintf(stderr, "notes: %s\n", info.notes);
	CHECK_EQ(info.nr_registered_slots, 1);
	CHECK(info.registered_bytes > (1 << 20));
	/* either the first fit, to the room /proc shows, was taken, or the
	 * kernel refused it and the notes say by how much it backed off
	 * (6.18 charges the rings' memory unseen; 7.2 shows it or not) */
	CHECK(info.registered_bytes + (64 << 10) >= room ||
	      strstr(info.notes, "more than /proc shows"));
	printf("  PARTIAL adopt of 64 MiB untouched beside %u open rings: "
	       "%llu KiB registered%s\n",
	       n, (unsigned long long)(info.registered_bytes >> 10),
	       strstr(info.notes, "refused") ? " (the kernel refused closer "
					       "fits: rings' own memory)"
					     : "");
	fflush(stdout);
	regbuf_pool_destroy(p);
	while (n)
		io_uring_queue_exit(&rings[--n]);
	munmap(mem, len);
}

/*
 * Where the rings' own memory is charged unseen (REGBUF_FEAT_RING_MEMLOCK:
 * 6.13 to 6.18, not 7.2): regbuf_machine_get()
 * counts it from the rings' fdinfo, once per ring however many processes
 * hold it (a forked child shares every fd), and a pool refused at a
 * lowered RLIMIT_MEMLOCK names a limit at which the same pool registers.
 */
static void ring_charge_advice(void)
{
	struct regbuf_machine m0 = REGBUF_STRUCT_INIT(m0),
			      m1 = REGBUF_STRUCT_INIT(m1),
			      m2 = REGBUF_STRUCT_INIT(m2);
	struct regbuf_features f = REGBUF_STRUCT_INIT(f);
	static struct io_uring rings[64];
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	struct rlimit rl0, rl;
	unsigned n = 0;
	unsigned long long kib = 0;
	struct t_hold hold;
	const char *e;
	bool charged;

	regbuf_features_get(&f);
	charged = f.features & REGBUF_FEAT_RING_MEMLOCK;
	CHECK_EQ(regbuf_machine_get(&m0), 0);
	while (n < 64 && !io_uring_queue_init(64, &rings[n], 0))
		n++;
	CHECK(n > 0);
	CHECK_EQ(regbuf_machine_get(&m1), 0);
	if (charged) {
		/* 64 SQEs and 128 CQEs: a page of each region */
		CHECK(m1.nr_rings >= m0.nr_rings + n);
		CHECK(m1.memlock_rings >= m0.memlock_rings + n * 8192ULL);
		CHECK(m1.memlock_used >= m1.memlock_rings);
	} else {
		CHECK_EQ(m1.memlock_rings, 0);
	}
	/* a child holding the same rings: the same count */
	hold = t_hold_fork();
	CHECK_EQ(regbuf_machine_get(&m2), 0);
	t_hold_end(hold);
	CHECK_EQ(m2.nr_rings, m1.nr_rings);
	CHECK_EQ(m2.memlock_rings, m1.memlock_rings);
	/* refused at 1 MiB, registered at the limit the error names */
	CHECK_EQ(getrlimit(RLIMIT_MEMLOCK, &rl0), 0);
	rl = rl0;
	rl.rlim_cur = 1 << 20;
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	regbuf_pool_opts_init(&o);
	o.backing = REGBUF_BACKING_PAGES;
	o.size = 2 << 20;
	CHECK_EQ(regbuf_pool_create(&o, &p), -ENOMEM);
	e = strstr(regbuf_last_error(), "ulimit -l ");
	CHECK(e && sscanf(e, "ulimit -l %llu", &kib) == 1);
	if (charged)
		CHECK(strstr(regbuf_last_error(), "io_uring rings"));
	if (kib << 10 > rl0.rlim_max) {
		printf("  rings' own memory: the advised %llu KiB is above the "
		       "hard limit, not tried\n",
		       kib);
	} else {
		int ret, waits = 0;

		rl.rlim_cur = kib << 10;
		CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
		/* rings that earlier tests of this user closed stay charged
		 * until the kernel releases them (a few ms, or longer on a
		 * busy machine): at the same limit, wait for that, 5 s at
		 * most */
		while ((ret = regbuf_pool_create(&o, &p)) == -ENOMEM &&
		       waits < 50) {
			usleep(100 * 1000);
			waits++;
		}
		CHECK_EQ(ret, 0);
		regbuf_pool_destroy(p);
		printf("  rings' own memory: %u rings counted once (%llu KiB), "
		       "a 2 MiB pool registers at the advised ulimit -l %llu%s\n",
		       m1.nr_rings,
		       (unsigned long long)(m1.memlock_rings >> 10), kib,
		       waits ? " (once closed rings were released)" : "");
	}
	fflush(stdout);
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl0), 0);
	while (n)
		io_uring_queue_exit(&rings[--n]);
}

/* A ring of 4096 entries with setup flags fl, mapped as liburing maps it
 * (one mapping for the SQ and CQ rings, one for the SQEs): its fd, or
 * -errno. */
#define T_NO_SQARRAY (1U << 16)
#define T_SQE128     (1U << 10)
#define T_CQE32	     (1U << 11)
static int shaped_ring(unsigned fl)
{
	struct io_uring_params p;
	size_t cqe = fl & T_CQE32 ? 32 : 16, sqe = fl & T_SQE128 ? 128 : 64;
	size_t sq, cq;
	int fd;

	memset(&p, 0, sizeof(p));
	p.flags = fl;
	fd = (int)syscall(__NR_io_uring_setup, 4096, &p);
	if (fd < 0)
		return -errno;
	sq = fl & T_NO_SQARRAY ? 0 : p.sq_off.array + p.sq_entries * 4;
	cq = p.cq_off.cqes + p.cq_entries * cqe;
	CHECK(mmap(NULL, sq > cq ? sq : cq, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_POPULATE, fd, 0) != MAP_FAILED);
	CHECK(mmap(NULL, p.sq_entries * sqe, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_POPULATE, fd, 0x10000000) != MAP_FAILED);
	return fd;
}

/* In a child of a user of its own at 8 MiB (or the hard limit): rings of one
 * shape until the kernel refuses one, then regbuf's estimate of their memory:
 * at most the limit (the kernel took them all), and one ring more would pass
 * it. Where regbuf finds rings not charged, the kernel takes 256 rings of
 * 388 KiB or more at that limit, and regbuf counts none of it. */
static int ring_shape_child(uid_t uid, unsigned fl, bool charged)
{
	struct rlimit rl;
	struct regbuf_machine m = REGBUF_STRUCT_INIT(m);
	char shape[64];
	unsigned n = 0;
	int fd;

	snprintf(shape, sizeof(shape), "rings of 4096 entries%s%s%s",
		 fl & T_NO_SQARRAY ? ", NO_SQARRAY" : "",
		 fl & T_SQE128 ? ", SQE128" : "",
		 fl & T_CQE32 ? ", CQE32" : "");
	CHECK_EQ(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	if (rl.rlim_max > (8 << 20))
		rl.rlim_max = 8 << 20;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgid(uid) || setuid(uid))
		return 10;
	while (n < 256 && (fd = shaped_ring(fl)) >= 0)
		n++;
	if (n == 0 && fd == -EINVAL && (fl & T_NO_SQARRAY) && t_kver() < 6006) {
		/* IORING_SETUP_NO_SQARRAY came with 6.6 */
		printf("  %s: not before 6.6, not tried\n", shape);
		fflush(stdout);
		return 0;
	}
	CHECK_EQ(regbuf_machine_get(&m), 0);
	if (!charged) {
		CHECK_EQ(n, 256);
		CHECK(fd >= 0);
		CHECK_EQ(m.memlock_rings, 0);
		CHECK_EQ(m.nr_rings, 0);
		printf("  %s: not charged here, the kernel took %u at %llu KiB, "
		       "regbuf counts none\n",
		       shape, n, (unsigned long long)(rl.rlim_cur >> 10));
		fflush(stdout);
		return 0;
	}
	CHECK_EQ(fd, -ENOMEM);
	CHECK(n > 0);
	CHECK_EQ(m.nr_rings, n);
	CHECK(m.memlock_rings <= rl.rlim_cur);
	CHECK(m.memlock_rings + m.memlock_rings / n > rl.rlim_cur);
	printf("  %s: the kernel took %u at %llu KiB, "
	       "regbuf counts %llu KiB (%llu KiB a ring)\n",
	       shape, n, (unsigned long long)(rl.rlim_cur >> 10),
	       (unsigned long long)(m.memlock_rings >> 10),
	       (unsigned long long)(m.memlock_rings / n >> 10));
	fflush(stdout);
	return 0;
}

/*
 * The estimate of the rings' own memory is exact for mapped rings of every
 * shape (it reads the mappings' lengths): plain, NO_SQARRAY (liburing's
 * default since 2.6), SQE128 with CQE32; and the probe of whether rings
 * are charged at all is what the kernel does with them. Root only: each
 * shape needs a user of its own, with nothing charged to it (closed rings
 * are released late).
 */
static void ring_shapes(void)
{
	static const unsigned shapes[] = {0, T_NO_SQARRAY, T_SQE128 | T_CQE32};
	struct regbuf_features f = REGBUF_STRUCT_INIT(f);
	bool charged;

	regbuf_features_get(&f);
	charged = f.features & REGBUF_FEAT_RING_MEMLOCK;
	for (unsigned i = 0; i < 3; i++) {
		int st;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		CHECK(pid >= 0);
		if (!pid)
			_exit(ring_shape_child(65530 - i, shapes[i], charged));
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFEXITED(st));
		CHECK_EQ(WEXITSTATUS(st), 0);
	}
}

/* The memlock rules as an accounted process at RLIMIT_MEMLOCK limit. */
static uid_t memlock_child_uid; /* in a child of test_memlock() */
static int memlock_checks(uint64_t limit)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p, *p2;
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};

	regbuf_pool_opts_init(&o);
	o.backing = REGBUF_BACKING_PAGES;
	o.max_slot_size = 1 << 20;
	o.size = 4 << 20;
	if (limit < (4 << 20)) {
		CHECK_EQ(regbuf_pool_create(&o, &p), -ENOMEM);
		CHECK(strstr(regbuf_last_error(), "RLIMIT_MEMLOCK"));
		CHECK(strstr(regbuf_last_error(), "raise it"));
		o.flags = REGBUF_POOL_PARTIAL;
		CHECK_EQ(regbuf_pool_create(&o, &p), 0);
		CHECK_EQ(regbuf_pool_info(p, &info), 0);
		if (info.nr_registered_slots) {
			CHECK(info.flags & REGBUF_INFO_PARTIAL);
			CHECK(info.nr_registered_slots < info.nr_slots);
		}
		CHECK(strstr(info.notes, "memlock") ||
		      !info.nr_registered_slots);
		regbuf_pool_destroy(p);
		partial_one_slot(limit);
		return 0;
	}
	if (limit > (16 << 20)) {
		/* 64 MiB: two 4 MiB pools fit, a 64 MiB one does not. */
		CHECK_EQ(regbuf_pool_create(&o, &p), 0);
		CHECK_EQ(regbuf_pool_create(&o, &p2), 0);
		regbuf_pool_destroy(p2);
		/* refused before anything is pinned: no need to populate
		 * (the limit may be most of the machine's memory) */
		o.size = limit;
		o.flags = REGBUF_POOL_NO_POPULATE;
		CHECK_EQ(regbuf_pool_create(&o, &p2), -ENOMEM);
		regbuf_pool_destroy(p);
		printf("  memlock %llu MiB: two 4 MiB pools fit, one of %llu MiB "
		       "is refused\n",
		       (unsigned long long)(limit >> 20),
		       (unsigned long long)(limit >> 20));
		fflush(stdout);
		return 0;
	}
	/* 8 MiB: one 4 MiB pool fits, a second does not (the counter is
	 * per user and shared by every ring). */
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_create(&o, &p2), -ENOMEM);
	regbuf_pool_destroy(p);
	/* 6.1 unaccounts in a worker after the unregister returns */
	t_vmpin_settled(0);
	CHECK_EQ(regbuf_pool_create(&o, &p2), 0);
	regbuf_pool_destroy(p2);
	t_vmpin_settled(0);
	accounted_model();
	/* PARTIAL and "nothing registered" at this limit too */
	t_vmpin_settled(0);
	partial_one_slot(limit);
	/* its closed rings' memory comes back later, unseen: last, in a
	 * child of its own; main() runs it last in an unprivileged run */
	if (memlock_child_uid) {
		t_vmpin_settled(0);
		ring_charge_advice();
		partial_hidden_charge();
	}
	return 0;
}

/* RLIMIT_MEMLOCK is counted per user, and a kernel may release a closed
 * ring's pins in a worker long after its process exited (6.1): each
 * unprivileged child has a user of its own, so no child sees another's
 * leftovers. */
static int memlock_child(uint64_t limit, uid_t uid)
{
	struct rlimit rl = {limit, limit};

	memlock_child_uid = uid;
	if (setrlimit(RLIMIT_MEMLOCK, &rl) && errno == EPERM) {
		printf("  memlock %llu: cannot raise the hard limit here, "
		       "skipped\n",
		       (unsigned long long)limit);
		fflush(stdout);
		return 0;
	}
	if (setgid(uid) || setuid(uid)) {
		fprintf(stderr, "cannot become uid %u with memlock %llu: %s\n",
			(unsigned)uid, (unsigned long long)limit,
			strerror(errno));
		return 10;
	}
	return memlock_checks(limit);
}

static void test_memlock(void)
{
	static const uint64_t limits[] = {64 << 10, 8 << 20, 64 << 20};

	if (geteuid() != 0) {
		/* Unprivileged already: the rules at this process's own
		 * limit, where they matter (other limits need root). */
		struct regbuf_machine m = REGBUF_STRUCT_INIT(m);

		CHECK_EQ(regbuf_machine_get(&m), 0);
		if (m.memlock_room == UINT64_MAX) {
			printf("  memlock: not enforced for this process "
			       "(CAP_IPC_LOCK or unlimited), nothing to "
			       "check\n");
			return;
		}
		fflush(stdout);
		CHECK_EQ(memlock_checks(m.memlock_limit), 0);
		printf("  unprivileged at this process's RLIMIT_MEMLOCK of "
		       "%llu KiB: clear errors, partial registration, "
		       "per-user counter (64 KiB and 64 MiB need root)\n",
		       (unsigned long long)(m.memlock_limit >> 10));
		return;
	}
	ring_shapes();
	for (unsigned i = 0; i < 3; i++) {
		int st;
		pid_t pid;

		fflush(stdout); /* or the child prints it again */
		pid = fork();
		CHECK(pid >= 0);
		if (!pid)
			_exit(memlock_child(limits[i], 65533 - i));
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st));
		CHECK_EQ(WEXITSTATUS(st), 0);
	}
	printf("  unprivileged with RLIMIT_MEMLOCK 64 KiB / 8 MiB (/ 64 MiB "
	       "where the hard limit allows): clear errors, partial "
	       "registration, per-user counter\n");
}

/* ---- bad input ---- */

static void test_bad_input(void)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p = NULL, *q;
	struct t_held before;
	struct io_uring ring;
	int pipefd[2];

	regbuf_pool_opts_init(&o);
	o.size = 2 << 20;
	CHECK_EQ(regbuf_pool_create(&o, &q), 0);
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	CHECK_EQ(pipe(pipefd), 0);
	before = t_held_now();
	CHECK_EQ(regbuf_pool_create(NULL, &p), -EINVAL);
	CHECK_EQ(regbuf_pool_create(&o, NULL), -EINVAL);
#define BAD_OPT(field, val, err)                           \
	do {                                               \
		struct regbuf_pool_opts b = o;             \
		b.field = val;                             \
		CHECK_EQ(regbuf_pool_create(&b, &p), err); \
		CHECK(p == NULL);                          \
	} while (0)
	BAD_OPT(size, 0, -EINVAL);
	BAD_OPT(size, ~0ULL, -EOVERFLOW);
	BAD_OPT(struct_size, 4, -EINVAL);
	BAD_OPT(flags, 1U << 20, -EINVAL);
	BAD_OPT(backing, 77, -EINVAL);
	BAD_OPT(backing, -1, -EINVAL);
	BAD_OPT(backing, REGBUF_BACKING_CALLER, -EINVAL);
	BAD_OPT(reserved0, 1, -EINVAL);
	BAD_OPT(reserved[2], 1, -EINVAL);
	BAD_OPT(numa_node, -5, -EINVAL);
	BAD_OPT(max_slot_size, 4097, -EINVAL);
	BAD_OPT(max_slot_size, 1ULL << 40, -EINVAL); /* > any kernel */
	BAD_OPT(flags, REGBUF_POOL_STRICT, -EINVAL); /* STRICT + AUTO */
	CHECK_EQ(regbuf_pool_adopt(NULL, 4096, NULL, &p), -EINVAL);
	CHECK_EQ(regbuf_pool_adopt((void *)4097, 4096, NULL, &p), -EINVAL);
	CHECK_EQ(regbuf_pool_adopt((void *)0x1000, 4096, NULL, &p), -EFAULT);
	CHECK_EQ(regbuf_pool_import(-1, NULL, &p), -EBADF);
	CHECK_EQ(regbuf_pool_import(pipefd[0], NULL, &p), -EINVAL);
	CHECK_EQ(regbuf_pool_fd(q), -EINVAL);
	CHECK_EQ(regbuf_pool_attach(NULL, ring.ring_fd, 0), -EINVAL);
	CHECK_EQ(regbuf_pool_attach(q, -1, 0), -EBADF);
	CHECK_EQ(regbuf_pool_attach(q, 999, 0), -EBADF);
	CHECK_EQ(regbuf_pool_attach(q, pipefd[0], 0), -EOPNOTSUPP);
	CHECK_EQ(regbuf_pool_attach(q, ring.ring_fd, 16384), -EINVAL);
	CHECK_EQ(regbuf_pool_attach(q, ring.ring_fd, 16383 + 1), -EINVAL);
	CHECK_EQ(regbuf_pool_detach(q, ring.ring_fd), -ENOENT);
	CHECK_EQ(regbuf_pool_detach(q, pipefd[0]), -ENOENT);
	CHECK_EQ(regbuf_pool_detach(NULL, ring.ring_fd), -EINVAL);
	{
		struct regbuf_pool_info bad = {.struct_size = 1};
		struct regbuf_slot_info s = {.struct_size = sizeof(s)};

		CHECK_EQ(regbuf_pool_info(q, &bad), -EINVAL);
		CHECK_EQ(regbuf_pool_info(NULL, &bad), -EINVAL);
		CHECK_EQ(regbuf_pool_slot(q, 99999, &s), -ERANGE);
	}
	CHECK_HELD_SAME(before);
	/* The ring's table is untouched (no table was ever made). */
	CHECK_EQ(io_uring_unregister_buffers(&ring), -ENXIO);
	/* Attach works afterwards, and the other pool's anchor is refused
	 * as a destination only because it is not ours to touch? No: any
	 * io_uring fd may receive clones, so use the real ring. */
	CHECK(regbuf_pool_attach(q, ring.ring_fd, 0) > 0);
	CHECK_EQ(regbuf_pool_attach(q, ring.ring_fd, 5), -EEXIST);
	CHECK_EQ(regbuf_pool_detach(q, ring.ring_fd), 0);
	io_uring_queue_exit(&ring);
	close(pipefd[0]);
	close(pipefd[1]);
	regbuf_pool_destroy(q);
	regbuf_pool_destroy(NULL);
	printf("  bad input to create/adopt/import/attach/detach/info refused, "
	       "nothing changed\n");
}

int main(void)
{
	int fd;

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	fd = t_open_direct(8 << 20);
	/* first: an unprivileged run checks the limit it runs at, before
	 * the other tests' children (whose charges a kernel releases a
	 * little after they exit) have used it */
	test_memlock();
	test_bad_input();
	test_threads(fd);
	test_clone_refused(fd);
	test_shared(fd);
	close(fd);
	if (geteuid() != 0) {
		struct regbuf_machine m = REGBUF_STRUCT_INIT(m);

		CHECK_EQ(regbuf_machine_get(&m), 0);
		if (m.memlock_room != UINT64_MAX &&
		    m.memlock_limit >= (4 << 20) &&
		    m.memlock_limit <= (16 << 20)) {
			ring_charge_advice();
			partial_hidden_charge();
		}
	}
	return 0;
}
