/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static __thread char last_error[512];

RB_EXPORT const char *regbuf_last_error(void)
{
	return last_error;
}

RB_EXPORT const char *regbuf_version(void)
{
#define RB_STR2(x) #x
#define RB_STR(x)  RB_STR2(x)
	return RB_STR(REGBUF_VERSION_MAJOR) "." RB_STR(
		REGBUF_VERSION_MINOR) "." RB_STR(REGBUF_VERSION_PATCH);
}

#ifdef REGBUF_DEBUG
const int rb_debug_build = 1;
#else
const int rb_debug_build = 0;
#endif

void rb_assert_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "regbuf: %s:%d: assertion failed: %s\n", file, line,
		what);
	abort();
}

int rb_verr(int err, const char *fmt, va_list ap)
{
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	return err;
}

int rb_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = rb_verr(err, fmt, ap);
	va_end(ap);
	return err;
}

void rb_err_clear(void)
{
	last_error[0] = '\0';
}

void rb_note(char *notes, size_t size, const char *fmt, ...)
{
	size_t used = strnlen(notes, size);
	va_list ap;

	if (used + 2 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(notes + used, size - used - 1, fmt, ap);
	va_end(ap);
	used = strnlen(notes, size);
	notes[used] = '\n';
	notes[used + 1] = '\0';
}
