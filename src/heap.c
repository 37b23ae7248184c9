/* SPDX-License-Identifier: MIT */
/*
 * The library's heap: the C library's allocation calls, each counted and
 * failable through the sys fault seam (RB_SYS_HEAP), so that tests can
 * fail every one in turn. A failure explains itself in the thread's last
 * error (a caller may say more) and is counted per thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "base.h"
#include "sys.h"

static __thread unsigned long heap_failures;

unsigned long rb_heap_failures(void)
{
	return heap_failures;
}

static void *checked(void *p, size_t len)
{
	if (!p) {
		heap_failures++;
		errno = ENOMEM;
		rb_err(-ENOMEM, "out of memory (%zu bytes of heap)", len);
	}
	return p;
}

void *rb_malloc(size_t len)
{
	return checked(rb_sys_heap() ? NULL : malloc(len), len);
}

void *rb_calloc(size_t n, size_t len)
{
	return checked(rb_sys_heap() ? NULL : calloc(n, len), n * len);
}

void *rb_realloc(void *p, size_t len)
{
	return checked(rb_sys_heap() ? NULL : realloc(p, len), len);
}

void *rb_aligned_alloc(size_t align, size_t len)
{
	return checked(rb_sys_heap() ? NULL : aligned_alloc(align, len), len);
}

int rb_err_above(unsigned long heap_mark, int err, const char *fmt, ...)
{
	va_list ap;

	if (rb_heap_failures() != heap_mark)
		return err; /* the heap's own message stands */
	va_start(ap, fmt);
	err = rb_verr(err, fmt, ap);
	va_end(ap);
	return err;
}
