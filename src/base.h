/* SPDX-License-Identifier: MIT */
/*
 * The base of the library, below everything but the system-call seam
 * (sys.h): exports, size helpers, assertions, errors and notes (error.c),
 * the heap (heap.c), the struct-size contract (abi.c).
 */
#ifndef REGBUF_BASE_H
#define REGBUF_BASE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "regbuf.h"

#define RB_EXPORT	 __attribute__((visibility("default")))
#define RB_KIB		 (1ULL << 10)
#define RB_MIB		 (1ULL << 20)
#define RB_GIB		 (1ULL << 30)
#define RB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline uint64_t rb_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline bool rb_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/*
 * A contract the code relies on ("the caller made room", "cannot
 * happen"): checked, and fatal with the condition and where, in a
 * REGBUF_DEBUG build; not even evaluated in others.
 */
#ifdef REGBUF_DEBUG
#define RB_ASSERT(cond) \
	((cond) ? (void)0 : rb_assert_fail(#cond, __FILE__, __LINE__))
#else
#define RB_ASSERT(cond) ((void)sizeof(cond))
#endif
void rb_assert_fail(const char *what, const char *file, int line)
	__attribute__((noreturn));
/* 1 in a REGBUF_DEBUG build (tests: invalid frees abort there). */
extern const int rb_debug_build;

/* error.c: record a one-line explanation and return err (negative). */
int rb_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rb_verr(int err, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void rb_err_clear(void);
/* heap.c: rb_err() for a caller that wraps a lower call's failure, unless
 * the heap failed since heap_mark (rb_heap_failures()): the lowest layer
 * that knows the cause writes the message, and heap.c's stands. */
int rb_err_above(unsigned long heap_mark, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append a line to a fixed notes buffer. */
void rb_note(char *notes, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#include "fmt.h" /* rb_fmt_size() */

/* heap.c: the library's heap, counted and failable like the system calls
 * (NULL, errno ENOMEM and the last error set on failure). */
void *rb_malloc(size_t len);
void *rb_calloc(size_t n, size_t len);
void *rb_realloc(void *p, size_t len);
void *rb_aligned_alloc(size_t align, size_t len);
/* How many of this thread's heap allocations have failed so far. */
unsigned long rb_heap_failures(void);

/* abi.c: the struct-size contract (see there). */
/* Read a caller's struct into dst (ksize bytes, ours): 0, -EINVAL, -E2BIG. */
int rb_struct_in(void *dst, size_t ksize, const void *src, const char *what);
/* The caller's size of a struct to be filled, or -EINVAL. */
int rb_struct_size(const void *user, const char *what);
/* Fill the caller's struct of usize bytes from ours (ksize bytes). */
void rb_struct_out(void *user, uint32_t usize, const void *src, size_t ksize);

#endif
