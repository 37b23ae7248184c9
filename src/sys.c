/* SPDX-License-Identifier: MIT */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif

struct fault {
	unsigned long fail_at; /* absolute count at which to fail, 0 = off */
	int err;
	int opcode;
};

static unsigned long calls[RB_SYS_NR];
static unsigned long reg_calls[RB_REGISTER_NR_OPS];
static struct fault faults[RB_SYS_NR];
static int fault_fired;
static int faults_armed;

static const char *const kind_names[RB_SYS_NR] = {
	[RB_SYS_MMAP] = "mmap",
	[RB_SYS_MADVISE] = "madvise",
	[RB_SYS_MBIND] = "mbind",
	[RB_SYS_MEMFD] = "memfd_create",
	[RB_SYS_FTRUNCATE] = "ftruncate",
	[RB_SYS_FCNTL] = "fcntl",
	[RB_SYS_SETUP] = "io_uring_setup",
	[RB_SYS_REGISTER] = "io_uring_register",
	[RB_SYS_OPEN] = "open",
	[RB_SYS_READ] = "read",
	[RB_SYS_IOCTL] = "ioctl",
	[RB_SYS_THREAD] = "pthread_create",
	[RB_SYS_UNAME] = "uname",
	[RB_SYS_GETRLIMIT] = "getrlimit",
	[RB_SYS_SYSCONF] = "sysconf",
	[RB_SYS_HEAP] = "heap",
	[RB_SYS_MUNMAP] = "munmap",
	[RB_SYS_CLOSE] = "close",
	[RB_SYS_FSTAT] = "fstat",
	[RB_SYS_DUP] = "dup",
};

const char *rb_sys_kind_name(int kind)
{
	if (kind < 0 || kind >= RB_SYS_NR)
		return "?";
	return kind_names[kind];
}

void rb_sys_fault(int kind, int opcode, unsigned long nth, int err)
{
	if (kind < 0 || kind >= RB_SYS_NR)
		return;
	unsigned long base =
		opcode >= 0 && opcode < RB_REGISTER_NR_OPS
			? __atomic_load_n(&reg_calls[opcode], __ATOMIC_RELAXED)
			: __atomic_load_n(&calls[kind], __ATOMIC_RELAXED);
	faults[kind].opcode = opcode;
	faults[kind].err = err;
	__atomic_store_n(&faults[kind].fail_at, nth ? base + nth : 0,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&fault_fired, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&faults_armed, 1, __ATOMIC_RELEASE);
}

void rb_sys_fault_clear(void)
{
	for (int i = 0; i < RB_SYS_NR; i++)
		__atomic_store_n(&faults[i].fail_at, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&faults_armed, 0, __ATOMIC_RELEASE);
}

unsigned long rb_sys_count(int kind, int opcode)
{
	if (kind == RB_SYS_REGISTER && opcode >= 0 &&
	    opcode < RB_REGISTER_NR_OPS)
		return __atomic_load_n(&reg_calls[opcode], __ATOMIC_RELAXED);
	if (kind < 0 || kind >= RB_SYS_NR)
		return 0;
	return __atomic_load_n(&calls[kind], __ATOMIC_RELAXED);
}

int rb_sys_fault_fired(void)
{
	return __atomic_load_n(&fault_fired, __ATOMIC_RELAXED);
}

/* Count one call of kind (and register opcode); return -err to inject. */
static int count_or_fail(int kind, int opcode)
{
	unsigned long n = __atomic_add_fetch(&calls[kind], 1, __ATOMIC_RELAXED);
	unsigned long on = 0;

	if (opcode >= 0 && opcode < RB_REGISTER_NR_OPS)
		on = __atomic_add_fetch(&reg_calls[opcode], 1,
					__ATOMIC_RELAXED);
	if (__builtin_expect(!__atomic_load_n(&faults_armed, __ATOMIC_ACQUIRE),
			     1))
		return 0;

	struct fault *f = &faults[kind];
	unsigned long at = __atomic_load_n(&f->fail_at, __ATOMIC_ACQUIRE);

	if (!at)
		return 0;
	if (f->opcode >= 0) {
		if (f->opcode != opcode || on != at)
			return 0;
	} else if (n != at) {
		return 0;
	}
	__atomic_store_n(&f->fail_at, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&fault_fired, 1, __ATOMIC_RELAXED);
	return -f->err;
}

int rb_sys_heap(void)
{
	return count_or_fail(RB_SYS_HEAP, -1);
}

int rb_mmap(void **out, void *addr, size_t len, int prot, int flags, int fd,
	    off_t off)
{
	int ret = count_or_fail(RB_SYS_MMAP, -1);

	if (ret)
		return ret;
	void *p = mmap(addr, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

int rb_munmap(void *addr, size_t len)
{
	int ret = count_or_fail(RB_SYS_MUNMAP, -1);

	if (munmap(addr, len))
		return -errno;
	return ret;
}

int rb_madvise(void *addr, size_t len, int advice)
{
	int ret = count_or_fail(RB_SYS_MADVISE, -1);

	if (ret)
		return ret;
	return madvise(addr, len, advice) ? -errno : 0;
}

int rb_mbind(void *addr, size_t len, int node)
{
	int ret = count_or_fail(RB_SYS_MBIND, -1);
	unsigned long mask[16] = {0};

	if (ret)
		return ret;
	if (node < 0 || node >= (int)(sizeof(mask) * 8))
		return -EINVAL;
	mask[node / 64] = 1UL << (node % 64);
	if (syscall(SYS_mbind, addr, len, MPOL_BIND, mask, sizeof(mask) * 8,
		    MPOL_MF_STRICT | MPOL_MF_MOVE))
		return -errno;
	return 0;
}

int rb_memfd(const char *name, unsigned flags)
{
	int ret = count_or_fail(RB_SYS_MEMFD, -1);

	if (ret)
		return ret;
	ret = (int)syscall(SYS_memfd_create, name, flags);
	return ret < 0 ? -errno : ret;
}

int rb_ftruncate(int fd, off_t len)
{
	int ret = count_or_fail(RB_SYS_FTRUNCATE, -1);

	if (ret)
		return ret;
	return ftruncate(fd, len) ? -errno : 0;
}

int rb_add_seals(int fd, int seals)
{
	int ret = count_or_fail(RB_SYS_FCNTL, -1);

	if (ret)
		return ret;
	return fcntl(fd, F_ADD_SEALS, seals) ? -errno : 0;
}

int rb_fstat(int fd, struct stat *st)
{
	int ret = count_or_fail(RB_SYS_FSTAT, -1);

	if (ret)
		return ret;
	return fstat(fd, st) ? -errno : 0;
}

int rb_close(int fd)
{
	int ret = count_or_fail(RB_SYS_CLOSE, -1);

	if (close(fd))
		return -errno;
	return ret;
}

int rb_dup_cloexec(int fd)
{
	int ret = count_or_fail(RB_SYS_DUP, -1);

	if (ret)
		return ret;
	ret = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return ret < 0 ? -errno : ret;
}

int rb_uring_setup(unsigned entries, struct io_uring_params *p)
{
	int ret = count_or_fail(RB_SYS_SETUP, -1);

	if (ret)
		return ret;
	ret = (int)syscall(__NR_io_uring_setup, entries, p);
	return ret < 0 ? -errno : ret;
}

int rb_uring_register(int fd, unsigned opcode, const void *arg,
		      unsigned nr_args)
{
	int ret = count_or_fail(RB_SYS_REGISTER, (int)opcode);

	if (ret)
		return ret;
	ret = (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
	return ret < 0 ? -errno : ret;
}

int rb_open(const char *path, int flags)
{
	int ret = count_or_fail(RB_SYS_OPEN, -1);

	if (ret)
		return ret;
	ret = open(path, flags | O_CLOEXEC);
	return ret < 0 ? -errno : ret;
}

ssize_t rb_pread(int fd, void *buf, size_t len, off_t off)
{
	int ret = count_or_fail(RB_SYS_READ, -1);

	if (ret)
		return ret;
	ssize_t n = pread(fd, buf, len, off);

	return n < 0 ? -errno : n;
}

/* Read a small file whole; counted by the seam unless quiet. */
static ssize_t read_file(const char *path, char *buf, size_t size, bool quiet)
{
	int fd = quiet ? open(path, O_RDONLY | O_CLOEXEC)
		       : rb_open(path, O_RDONLY);
	size_t got = 0;

	if (fd < 0)
		return quiet ? -errno : fd;
	while (got + 1 < size) {
		ssize_t n =
			quiet ? pread(fd, buf + got, size - 1 - got, (off_t)got)
			      : rb_pread(fd, buf + got, size - 1 - got,
					 (off_t)got);

		if (n < 0) {
			n = quiet ? -errno : n;
			quiet ? close(fd) : rb_close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	quiet ? close(fd) : rb_close(fd);
	return (ssize_t)got;
}

ssize_t rb_read_file(const char *path, char *buf, size_t size)
{
	return read_file(path, buf, size, false);
}

ssize_t rb_read_file_quiet(const char *path, char *buf, size_t size)
{
	return read_file(path, buf, size, true);
}

ssize_t rb_getdents(int fd, void *buf, size_t len)
{
	int ret = count_or_fail(RB_SYS_READ, -1);

	if (ret)
		return ret;
	ssize_t n = syscall(SYS_getdents64, fd, buf, len);

	return n < 0 ? -errno : n;
}

int rb_ioctl(int fd, unsigned long req, void *arg)
{
	int ret = count_or_fail(RB_SYS_IOCTL, -1);

	if (ret)
		return ret;
	ret = ioctl(fd, req, arg);
	return ret < 0 ? -errno : ret;
}

int rb_thread_create(uint64_t *tid, rb_thread_fn fn, void *arg)
{
	int ret = count_or_fail(RB_SYS_THREAD, -1);
	pthread_t t;

	if (ret)
		return ret;
	ret = pthread_create(&t, NULL, fn, arg);
	if (ret)
		return -ret;
	*tid = (uint64_t)t;
	return 0;
}

void rb_thread_join(uint64_t tid)
{
	pthread_join((pthread_t)tid, NULL);
}

uint64_t rb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int rb_uname(struct utsname *u)
{
	int ret = count_or_fail(RB_SYS_UNAME, -1);

	return ret ? ret : uname(u) ? -errno : 0;
}

int rb_getrlimit(int resource, struct rlimit *rl)
{
	int ret = count_or_fail(RB_SYS_GETRLIMIT, -1);

	return ret ? ret : getrlimit(resource, rl) ? -errno : 0;
}

long rb_sysconf(int name)
{
	int ret = count_or_fail(RB_SYS_SYSCONF, -1);
	long v;

	if (ret)
		return ret;
	errno = 0;
	v = sysconf(name);
	return v < 0 ? (errno ? -errno : -EINVAL) : v;
}

long rb_page_size(void)
{
	static long ps;

	if (!ps)
		ps = sysconf(_SC_PAGESIZE);
	return ps;
}
