/* SPDX-License-Identifier: MIT */
/*
 * What the running kernel supports, probed once. Each probe uses arguments
 * that make a supported opcode fail with an errno other than EINVAL (or
 * succeed harmlessly), so "unknown opcode" and "supported" are told apart
 * without version strings. What no call can show is read from the
 * version: coalescing of multi-hugepage buffers (6.12), and how huge pages
 * are counted per ring (6.13 to 7.1 charge a huge page again after
 * another one; 7.2 counts them in an xarray), which only an accounted
 * process registering a huge page could observe (PRIV_UNACCOUNTED, the
 * same 7.2 rewrite, is probed and implies it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "ringmem.h"
#include "sys.h"

static struct regbuf_features feats; /* the first probe's result */
static const struct regbuf_features *feats_pub = &feats;
static bool feats_transient; /* taken again later (rb_features()) */
static uint64_t feats_tried_ns;
static pthread_once_t feats_once = PTHREAD_ONCE_INIT;
static int kver;

static long read_long(const char *path, long dflt)
{
	char buf[64];

	if (rb_read_file(path, buf, sizeof(buf)) <= 0)
		return dflt;
	return strtol(buf, NULL, 10);
}

static bool probe_pbuf(int fd, uint16_t flags, uint32_t min_left)
{
	struct io_uring_buf_reg reg = {0};
	void *mem = NULL;
	bool ok;

	if (rb_mmap(&mem, NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
		return false;
	reg.ring_addr = (uint64_t)(uintptr_t)mem;
	reg.ring_entries = 1;
	reg.bgid = 0x7fff;
	reg.flags = flags;
	reg.min_left = min_left;
	ok = rb_uring_register(fd, IORING_REGISTER_PBUF_RING, &reg, 1) == 0;
	if (ok) {
		struct io_uring_buf_reg un = {.bgid = 0x7fff};

		rb_uring_register(fd, IORING_UNREGISTER_PBUF_RING, &un, 1);
	}
	rb_munmap(mem, 4096);
	return ok;
}

static bool probe_sparse(int fd)
{
	struct io_uring_rsrc_register r = {
		.nr = 1, .flags = IORING_RSRC_REGISTER_SPARSE};

	if (rb_uring_register(fd, IORING_REGISTER_BUFFERS2, &r, sizeof(r)))
		return false;
	rb_uring_register(fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
	return true;
}

static int probe_clone(int fd, uint32_t flags)
{
	struct io_uring_clone_buffers c = {.src_fd = (uint32_t)-1,
					   .flags = flags};

	return rb_uring_register(fd, IORING_REGISTER_CLONE_BUFFERS, &c, 1);
}

static bool probe_ops(int fd, const int *ops, unsigned n)
{
	/* struct io_uring_probe followed by 256 ops, without a flexible member
	 * inside another struct. */
	uint64_t mem[(sizeof(struct io_uring_probe) +
		      256 * sizeof(struct io_uring_probe_op)) /
		     sizeof(uint64_t)];
	struct io_uring_probe *pr = (struct io_uring_probe *)mem;

	memset(mem, 0, sizeof(mem));
	if (rb_uring_register(fd, IORING_REGISTER_PROBE, pr, 256))
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (ops[i] > pr->last_op ||
		    !(pr->ops[ops[i]].flags & IO_URING_OP_SUPPORTED))
			return false;
	}
	return true;
}

static bool probe_query(void)
{
	struct io_uring_query_opcode q = {0};
	struct io_uring_query_hdr h = {0};

	h.query_data = (uint64_t)(uintptr_t)&q;
	h.query_op = 0;
	h.size = sizeof(q);
	return rb_uring_register(-1, IORING_REGISTER_QUERY, &h, 0) == 0 &&
	       h.result >= 0;
}

static bool probe_pagemap_scan(void)
{
	static char page[8192] __attribute__((aligned(4096)));
	struct page_region r[1];
	struct pm_scan_arg a = {0};
	int fd = rb_open("/proc/self/pagemap", O_RDONLY);
	int ret;

	if (fd < 0)
		return false;
	page[0] = 1;
	a.size = sizeof(a);
	a.start = (uint64_t)(uintptr_t)page;
	a.end = a.start + 4096;
	a.vec = (uint64_t)(uintptr_t)r;
	a.vec_len = 1;
	a.category_anyof_mask = PAGE_IS_PRESENT;
	a.return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE;
	ret = rb_ioctl(fd, PAGEMAP_SCAN, &a);
	rb_close(fd);
	return ret >= 0;
}

static void classify_refusal(struct regbuf_features *f, const char *call,
			     int err)
{
	long disabled = read_long("/proc/sys/kernel/io_uring_disabled", 0);

	f->io_uring_errno = -err;
	if (!strcmp(call, "io_uring_setup") &&
	    (err == -ENOMEM || err == -EMFILE || err == -ENFILE)) {
		/* io_uring is there, but no ring could be made now: probed
		 * again later (rb_features()) */
		f->io_uring = REGBUF_IO_URING_AVAILABLE;
		snprintf(
			f->why, sizeof(f->why),
			"no ring could be made to probe the kernel (%s: %s); features unknown until one can",
			strerror(-err),
			err == -ENOMEM
				? "RLIMIT_MEMLOCK used up? on 6.13 to 6.18 every ring's own memory counts"
				: "out of file descriptors");
	} else if (strcmp(call, "io_uring_setup")) {
		/* rings were made: io_uring is there, and io_uring_disabled
		 * refuses io_uring_setup only */
		f->io_uring = REGBUF_IO_URING_BLOCKED;
		snprintf(
			f->why, sizeof(f->why),
			"rings can be created but %s is refused with %s (a seccomp profile): nothing can be registered",
			call, strerror(-err));
	} else if (err == -ENOSYS) {
		f->io_uring = REGBUF_IO_URING_ABSENT;
		snprintf(f->why, sizeof(f->why),
			 "this kernel has no io_uring (ENOSYS)");
	} else if (err == -EPERM && disabled == 2) {
		f->io_uring = REGBUF_IO_URING_DISABLED;
		snprintf(f->why, sizeof(f->why),
			 "kernel.io_uring_disabled=2: io_uring is off for all");
	} else if (err == -EPERM && disabled == 1) {
		f->io_uring = REGBUF_IO_URING_DISABLED;
		snprintf(
			f->why, sizeof(f->why),
			"kernel.io_uring_disabled=1: needs CAP_SYS_ADMIN or kernel.io_uring_group");
	} else {
		f->io_uring = REGBUF_IO_URING_BLOCKED;
		snprintf(
			f->why, sizeof(f->why),
			"%s refused with %s (a seccomp profile such as Docker's default, or an LSM)",
			call, strerror(-err));
	}
}

/* The value of a "Field:" line of a /proc status file, -1 if absent. */
static long status_field(const char *status, const char *field)
{
	size_t n = strlen(field);

	for (const char *p = status; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (!strncmp(p, field, n) && p[n] == ':')
			return strtol(p + n + 1, NULL, 10);
	}
	return -1;
}

/* VmPin of this process in KiB, -1 if unknown. */
static long vmpin_kb(void)
{
	char buf[4096];

	if (rb_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return -1;
	return status_field(buf, "VmPin");
}

/* Does a /proc status text show CAP_IPC_LOCK (bit 14) in CapEff? */
static bool cap_ipc_lock_in(const char *status)
{
	const char *p = strstr(status, "\nCapEff:");

	return p && (strtoull(p + 8, NULL, 16) >> 14 & 1);
}

/*
 * What io_uring has charged to this user's RLIMIT_MEMLOCK, as far as /proc
 * shows: the sum of VmPin over the processes of this real uid that this
 * process can read (a ring charges both its creator's user and its mm).
 * With rings, also the rings' own SQ/CQ memory, which some kernels charge
 * to the same limit without showing it in VmPin (REGBUF_FEAT_RING_MEMLOCK):
 * estimated from each ring's mappings and fdinfo. Processes hidden from us
 * (hidepid) are not counted. Reads every status file of /proc: for pool
 * creation, not for hot paths. Only the first read goes through the fault seam:
 * every later one fails the same way (the process is skipped), and counting
 * each would make fault tests quadratic in the number of processes.
 */
int rb_user_charge(uint64_t *pinned, uint64_t *rings, unsigned *nr_rings)
{
	char dents[4096], status[4096], path[300];
	long uid = (long)getuid();
	struct rb_ringset rs = {0};
	uint64_t kib = 0;
	bool seam = true;
	ssize_t n;
	int fd;

	if (!rb_has(REGBUF_FEAT_RING_MEMLOCK))
		rings = NULL; /* the rings' memory is not charged here */
	fd = rb_open("/proc", O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	while ((n = rb_getdents(fd, dents, sizeof(dents))) > 0) {
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *d = (void *)(dents + off);
			ssize_t got;
			long pin;

			off += d->d_reclen;
			if (d->d_name[0] < '1' || d->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/status",
				 d->d_name);
			/* a process that exits meanwhile holds nothing */
			got = seam ? rb_read_file(path, status, sizeof(status))
				   : rb_read_file_quiet(path, status,
							sizeof(status));
			seam = false;
			if (got <= 0 || status_field(status, "Uid") != uid)
				continue;
			pin = status_field(status, "VmPin");
			kib += pin > 0 ? (uint64_t)pin : 0;
			/* a ring made with CAP_IPC_LOCK charges nobody */
			if (rings && !cap_ipc_lock_in(status))
				rb_ringset_scan(&rs, atoi(d->d_name));
		}
	}
	rb_close(fd);
	if (n < 0) {
		rb_ringset_free(&rs);
		return (int)n;
	}
	*pinned = kib << 10;
	if (rings)
		*rings = rs.bytes;
	if (nr_rings)
		*nr_rings = rs.rings;
	rb_ringset_free(&rs);
	return 0;
}

int rb_user_pinned(uint64_t *bytes)
{
	return rb_user_charge(bytes, NULL, NULL);
}

/* Does registering as a CAP_IPC_LOCK process leave VmPin alone? One page,
 * registered and unregistered on the probe ring. */
static bool probe_priv_unaccounted(int fd)
{
	struct iovec iov = {.iov_len = 4096};
	long before, after;
	bool unaccounted = false;

	if (!rb_cap_ipc_lock() ||
	    rb_mmap(&iov.iov_base, NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0))
		return false;
	before = vmpin_kb();
	if (!rb_uring_register(fd, IORING_REGISTER_BUFFERS, &iov, 1)) {
		after = vmpin_kb();
		unaccounted = before >= 0 && after == before;
		rb_uring_register(fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
	}
	rb_munmap(iov.iov_base, 4096);
	return unaccounted;
}

/*
 * Does the kernel charge a ring's own memory to RLIMIT_MEMLOCK? A child
 * sharing our memory (as posix_spawn's does, so nothing is copied and no
 * SIGCHLD reaches the program) drops CAP_IPC_LOCK, lowers its own
 * RLIMIT_MEMLOCK to 0 and makes a one-entry ring: ENOMEM where the ring is
 * charged, a ring where it is not. Raw system calls only: it runs on a
 * stack of its own while the parent thread waits. 1 charged, 0 not, -1
 * unknown (no child, or the ring refused for another reason).
 */
struct ring_memlock_probe {
	long setup; /* io_uring_setup's result, -errno */
};

__attribute__((no_sanitize_address)) static int ring_memlock_child(void *arg)
{
	struct ring_memlock_probe *r = arg;
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	struct io_uring_params p;
	struct rlimit rl;
	long fd;

	if (!syscall(SYS_capget, &h, d)) {
		d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &=
			~CAP_TO_MASK(CAP_IPC_LOCK);
		if (syscall(SYS_capset, &h, d))
			return 1;
	}
	if (syscall(SYS_prlimit64, 0, RLIMIT_MEMLOCK, NULL, &rl))
		return 1;
	rl.rlim_cur = 0;
	if (syscall(SYS_prlimit64, 0, RLIMIT_MEMLOCK, &rl, NULL))
		return 1;
	for (size_t i = 0; i < sizeof(p); i++)
		((volatile char *)&p)[i] = 0;
	fd = syscall(__NR_io_uring_setup, 1, &p);
	r->setup = fd < 0 ? -errno : 0;
	if (fd >= 0)
		syscall(SYS_close, fd);
	return 0;
}

static int probe_ring_memlock(void)
{
	struct ring_memlock_probe r = {.setup = 1};
	const size_t stack = 64 << 10;
	void *mem;
	pid_t pid;
	int err = errno;

	if (rb_mmap(&mem, NULL, stack, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0))
		return -1;
	/* exit signal 0: only __WALL waits for it */
	pid = clone(ring_memlock_child, (char *)mem + stack,
		    CLONE_VM | CLONE_VFORK, &r);
	if (pid > 0)
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	rb_munmap(mem, stack);
	errno = err;
	if (pid <= 0)
		return -1;
	return r.setup == -ENOMEM ? 1 : r.setup == 0 ? 0 : -1;
}

/* Does the kernel take buffers over 1 GiB? Before 7.2 a longer one is
 * refused with EFAULT by the 1 GiB check; 7.2 caps at 1 TiB and refuses
 * beyond it with EINVAL, before it looks at the (unmapped) memory. */
static bool probe_large_bufs(int fd)
{
	struct iovec iov = {(void *)(uintptr_t)(1ULL << 40),
			    (1ULL << 40) + 4096};

	return rb_uring_register(fd, IORING_REGISTER_BUFFERS, &iov, 1) ==
	       -EINVAL;
}

/* Probe into f. Returns true when no ring could be made for a probe
 * (ENOMEM, EMFILE): the result is to be taken again later. */
static bool probe_into(struct regbuf_features *f)
{
	struct io_uring_params p;
	struct utsname u;
	int fd, ret, maj = 0, min = 0;

	f->struct_size = sizeof(*f);
	if (!rb_uname(&u)) {
		snprintf(f->kernel, sizeof(f->kernel), "%s", u.release);
		if (sscanf(u.release, "%d.%d", &maj, &min) == 2)
			kver = maj * 1000 + min;
	}
	if (kver >= 6012)
		f->features |= REGBUF_FEAT_COALESCE;
	if (probe_pagemap_scan())
		f->features |= REGBUF_FEAT_PAGEMAP_SCAN;
	if (probe_query())
		f->features |= REGBUF_FEAT_QUERY;

	memset(&p, 0, sizeof(p));
	fd = rb_uring_setup(1, &p);
	if (fd < 0) {
		classify_refusal(f, "io_uring_setup", fd);
		return fd == -ENOMEM || fd == -EMFILE || fd == -ENFILE;
	}
	/* A filter may let io_uring_setup through and refuse
	 * io_uring_register, which is all regbuf needs. Let through, a
	 * PROBE with no buffer is -EINVAL (-EFAULT on a kernel that copies
	 * first); anything else is a refusal (EPERM from seccomp, or the
	 * ENOSYS a profile may answer with). */
	ret = rb_uring_register(fd, IORING_REGISTER_PROBE, NULL, 0);
	if (ret != -EINVAL && ret != -EFAULT) {
		rb_close(fd);
		classify_refusal(f, "io_uring_register", ret);
		return false;
	}
	f->io_uring = REGBUF_IO_URING_AVAILABLE;
	if (probe_sparse(fd))
		f->features |= REGBUF_FEAT_SPARSE;
	if (probe_clone(fd, 0) == -EBADF)
		f->features |= REGBUF_FEAT_CLONE;
	if (probe_clone(fd, IORING_REGISTER_DST_REPLACE) == -EBADF)
		f->features |= REGBUF_FEAT_CLONE_RANGES;
	if (probe_pbuf(fd, 0, 0))
		f->features |= REGBUF_FEAT_PBUF_RING;
	if (probe_pbuf(fd, IOU_PBUF_RING_INC, 0))
		f->features |= REGBUF_FEAT_PBUF_INC;
	if ((f->features & REGBUF_FEAT_PBUF_INC) &&
	    probe_pbuf(fd, IOU_PBUF_RING_INC, 16))
		f->features |= REGBUF_FEAT_MIN_LEFT;
	/* A bad non-NULL pointer: EFAULT where the opcode exists. */
	if (rb_uring_register(fd, IORING_REGISTER_MEM_REGION, (void *)8, 1) ==
	    -EFAULT)
		f->features |= REGBUF_FEAT_MEM_REGION;
	{
		static const int vec_ops[] = {IORING_OP_READV_FIXED,
					      IORING_OP_WRITEV_FIXED};

		if (probe_ops(fd, vec_ops, 2))
			f->features |= REGBUF_FEAT_RW_VEC_FIXED;
	}
	rb_close(fd);
	/* Buffer registration probes, on a ring of their own (no table). */
	memset(&p, 0, sizeof(p));
	fd = rb_uring_setup(1, &p);
	if (fd < 0)
		return true; /* ENOMEM or EMFILE just now: again later */
	if (probe_large_bufs(fd))
		f->features |= REGBUF_FEAT_LARGE_BUFS;
	if (probe_priv_unaccounted(fd))
		f->features |= REGBUF_FEAT_PRIV_UNACCOUNTED;
	rb_close(fd);
	ret = probe_ring_memlock();
	if (ret > 0 || (ret < 0 && rb_ring_own_charged(kver)))
		f->features |= REGBUF_FEAT_RING_MEMLOCK;
	/* Same rewrite as PRIV_UNACCOUNTED; not observable without an
	 * accounted process and a huge page, so by version as well. */
	if (kver >= 7002 || (f->features & REGBUF_FEAT_PRIV_UNACCOUNTED))
		f->features |=
			REGBUF_FEAT_HPAGE_XARRAY | REGBUF_FEAT_HPAGE_PER_RING;
	else if (kver && kver < 6013)
		f->features |= REGBUF_FEAT_HPAGE_PER_RING;
	return false;
}

static void probe_first(void)
{
	feats_transient = probe_into(&feats);
	feats_tried_ns = rb_now_ns();
}

/*
 * The kernel's features, probed once. A probe that could make no ring
 * (RLIMIT_MEMLOCK used up by other rings, no fd left) is taken again, at
 * most once a second, until one succeeds; that result is published once
 * (a new copy: callers may hold the old one) and kept.
 */
const struct regbuf_features *rb_features(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	const struct regbuf_features *cur;

	pthread_once(&feats_once, probe_first);
	cur = __atomic_load_n(&feats_pub, __ATOMIC_ACQUIRE);
	if (!__atomic_load_n(&feats_transient, __ATOMIC_ACQUIRE))
		return cur;
	pthread_mutex_lock(&lock);
	if (feats_transient && rb_now_ns() - feats_tried_ns >= 1000000000ULL) {
		struct regbuf_features *n = calloc(1, sizeof(*n));

		feats_tried_ns = rb_now_ns();
		if (n && !probe_into(n)) {
			__atomic_store_n(&feats_pub, n, __ATOMIC_RELEASE);
			__atomic_store_n(&feats_transient, false,
					 __ATOMIC_RELEASE);
		} else {
			free(n);
		}
	}
	cur = __atomic_load_n(&feats_pub, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&lock);
	return cur;
}

bool rb_has(uint64_t feat)
{
	return (rb_features()->features & feat) == feat;
}

uint64_t rb_max_buf_size(void)
{
	return rb_has(REGBUF_FEAT_LARGE_BUFS) ? RB_MAX_LARGE_BUF_SIZE
					      : RB_MAX_BUF_SIZE;
}

int rb_kernel_version(void)
{
	rb_features();
	return kver;
}

RB_EXPORT int regbuf_features_get(struct regbuf_features *f)
{
	int usize = rb_struct_size(f, "regbuf_features");

	if (usize < 0)
		return usize;
	rb_struct_out(f, (uint32_t)usize, rb_features(), sizeof(*f));
	return 0;
}

static void read_huge(uint64_t kib, struct regbuf_hugepage_count *c)
{
	char path[128];
	static const char *const fields[] = {"nr_hugepages", "free_hugepages",
					     "resv_hugepages",
					     "surplus_hugepages"};
	uint64_t *out[] = {&c->total, &c->free, &c->reserved, &c->surplus};

	for (unsigned i = 0; i < 4; i++) {
		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/hugepages/hugepages-%llukB/%s",
			 (unsigned long long)kib, fields[i]);
		long v = read_long(path, 0);

		*out[i] = v > 0 ? (uint64_t)v : 0;
	}
}

int rb_free_hugepages(uint64_t page_size, int node, uint64_t *free)
{
	char path[160];
	long v;

	if (node >= 0)
		snprintf(
			path, sizeof(path),
			"/sys/devices/system/node/node%d/hugepages/hugepages-%llukB/free_hugepages",
			node, (unsigned long long)(page_size >> 10));
	else
		snprintf(
			path, sizeof(path),
			"/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
			(unsigned long long)(page_size >> 10));
	v = read_long(path, -1);
	if (v < 0)
		return -ENOENT;
	/* Reserved pages are promised to other mappings already. */
	if (node < 0) {
		snprintf(
			path, sizeof(path),
			"/sys/kernel/mm/hugepages/hugepages-%llukB/resv_hugepages",
			(unsigned long long)(page_size >> 10));
		long r = read_long(path, 0);

		v = v > r ? v - r : 0;
	}
	*free = (uint64_t)v;
	return 0;
}

uint64_t rb_memlock_limit(void)
{
	struct rlimit rl;

	/* unknown: the kernel decides, as with no limit */
	if (rb_getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return rl.rlim_cur;
}

bool rb_cap_ipc_lock(void)
{
	char buf[4096];
	const char *p;

	if (rb_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return false;
	p = strstr(buf, "CapEff:");
	if (!p)
		return false;
	return (strtoull(p + 7, NULL, 16) >> 14) & 1; /* CAP_IPC_LOCK = 14 */
}

static int count_nodes(void)
{
	char buf[256];
	int n = 0;
	const char *p = buf;

	if (rb_read_file("/sys/devices/system/node/online", buf, sizeof(buf)) <=
	    0)
		return 1;
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			break;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		n += (int)(b - a + 1);
		p = *end == ',' ? end + 1 : end;
		if (*p == '\n')
			break;
	}
	return n ? n : 1;
}

RB_EXPORT int regbuf_machine_get(struct regbuf_machine *user)
{
	struct regbuf_machine k = {.struct_size = sizeof(k)}, *m = &k;
	int usize = rb_struct_size(user, "regbuf_machine");
	char buf[128], *a, *b;

	if (usize < 0)
		return usize;
	m->page_size = (uint32_t)rb_page_size();
	read_huge(2048, &m->huge_2m);
	read_huge(1048576, &m->huge_1g);
	snprintf(m->thp, sizeof(m->thp), "unknown");
	if (rb_read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf,
			 sizeof(buf)) > 0 &&
	    (a = strchr(buf, '[')) && (b = strchr(a, ']'))) {
		*b = '\0';
		snprintf(m->thp, sizeof(m->thp), "%s", a + 1);
	}
	m->memlock_limit = rb_memlock_limit();
	m->cap_ipc_lock = rb_cap_ipc_lock();
	{
		bool enforced =
			!m->cap_ipc_lock && m->memlock_limit != UINT64_MAX;

		if (rb_user_charge(&m->memlock_used,
				   enforced ? &m->memlock_rings : NULL,
				   &m->nr_rings))
			m->memlock_used = UINT64_MAX;
		else
			m->memlock_used += m->memlock_rings;
	}
	if (m->cap_ipc_lock || m->memlock_limit == UINT64_MAX)
		m->memlock_room = UINT64_MAX;
	else if (m->memlock_used < m->memlock_limit)
		m->memlock_room = m->memlock_limit - m->memlock_used;
	m->numa_nodes = count_nodes();
	{
		long cpus = rb_sysconf(_SC_NPROCESSORS_ONLN);

		m->online_cpus = cpus > 0 ? (int32_t)cpus : 1;
	}
	rb_struct_out(user, (uint32_t)usize, m, sizeof(*m));
	return 0;
}
