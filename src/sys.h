/* SPDX-License-Identifier: MIT */
/*
 * The only place that makes system calls. Every wrapper returns 0 (or a
 * count / fd) or -errno. Each call kind is counted and can be made to fail
 * on its Nth use with a chosen errno (the fault seam used by tests).
 */
#ifndef REGBUF_SYS_H
#define REGBUF_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "uapi.h"

enum rb_sys_kind {
	RB_SYS_MMAP,
	RB_SYS_MADVISE,
	RB_SYS_MBIND,
	RB_SYS_MEMFD,
	RB_SYS_FTRUNCATE,
	RB_SYS_FCNTL,
	RB_SYS_SETUP,
	RB_SYS_REGISTER,
	RB_SYS_OPEN,
	RB_SYS_READ,
	RB_SYS_IOCTL,
	RB_SYS_THREAD,
	RB_SYS_UNAME,
	RB_SYS_GETRLIMIT,
	RB_SYS_SYSCONF,
	RB_SYS_HEAP, /* malloc, calloc, realloc, aligned_alloc (heap.c) */
	/* The release calls: an injected failure still releases (close()
	 * frees the descriptor even when it reports an error; for munmap the
	 * seam models only the report), so it tests how the caller takes the
	 * error, not a leak the kernel would not cause. */
	RB_SYS_MUNMAP,
	RB_SYS_CLOSE,
	RB_SYS_FSTAT,
	RB_SYS_DUP,
	RB_SYS_NR
};

const char *rb_sys_kind_name(int kind);

/* Fault seam. Make the nth (1-based, counted from now) call of kind fail
 * with -err. For RB_SYS_REGISTER, opcode >= 0 restricts to that opcode.
 * nth = 0 disarms. */
void rb_sys_fault(int kind, int opcode, unsigned long nth, int err);
void rb_sys_fault_clear(void);
/* Calls of kind made so far (opcode >= 0: register calls of that opcode). */
unsigned long rb_sys_count(int kind, int opcode);
/* 1 if an armed fault has fired since it was armed. */
int rb_sys_fault_fired(void);

/* Counts a heap allocation (heap.c) and tells whether it is to fail. */
int rb_sys_heap(void);

int rb_mmap(void **out, void *addr, size_t len, int prot, int flags, int fd,
	    off_t off);
int rb_munmap(void *addr, size_t len);
int rb_madvise(void *addr, size_t len, int advice);
int rb_mbind(void *addr, size_t len, int node);
int rb_memfd(const char *name, unsigned flags);
int rb_ftruncate(int fd, off_t len);
int rb_add_seals(int fd, int seals);
int rb_fstat(int fd, struct stat *st);
int rb_close(int fd);
/* A close-on-exec duplicate of fd, or -errno. */
int rb_dup_cloexec(int fd);

int rb_uring_setup(unsigned entries, struct io_uring_params *p);
int rb_uring_register(int fd, unsigned opcode, const void *arg,
		      unsigned nr_args);

int rb_open(const char *path, int flags);
ssize_t rb_pread(int fd, void *buf, size_t len, off_t off);
/* Read a whole small file into buf (NUL-terminated); returns length. */
ssize_t rb_read_file(const char *path, char *buf, size_t size);
/* The same outside the fault seam: for reads repeated once per process
 * whose failure means "absent" (the seam tests that path on the first). */
ssize_t rb_read_file_quiet(const char *path, char *buf, size_t size);
/* getdents64(2) into buf: bytes filled, 0 at the end, or -errno (counted
 * as a read). */
ssize_t rb_getdents(int fd, void *buf, size_t len);
int rb_ioctl(int fd, unsigned long req, void *arg);

typedef void *(*rb_thread_fn)(void *);
int rb_thread_create(uint64_t *tid, rb_thread_fn fn, void *arg);
void rb_thread_join(uint64_t tid);

uint64_t rb_now_ns(void);
long rb_page_size(void);

struct utsname;
struct rlimit;
int rb_uname(struct utsname *u);
int rb_getrlimit(int resource, struct rlimit *rl);
/* sysconf(name), or -errno (a failure injected, or no such value). */
long rb_sysconf(int name);

#endif
