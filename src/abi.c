/* SPDX-License-Identifier: MIT */
/*
 * The struct-size contract. Every struct the library reads or fills that
 * may grow starts with `uint32_t size`, set by the caller to the size it
 * was built with. A caller built against older or newer headers keeps
 * working, the way the kernel's copy_struct_from_user() treats extensible
 * system-call structs:
 *
 *  - in (options the library reads): a smaller struct is accepted and the
 *    fields it lacks take their defaults (zero); a larger one is accepted
 *    when every byte the library does not know is zero, else -E2BIG;
 *  - out (info the library fills): as many bytes as both sides know are
 *    filled, the caller's tail beyond that is zeroed, and size is set to
 *    the number of bytes filled, so a newer caller can tell which of its
 *    fields an older library left alone.
 *
 * A size below the first field after `size`, or above RB_STRUCT_MAX, is
 * -EINVAL.
 */
#include <errno.h>
#include <string.h>

#include "base.h"

#define RB_STRUCT_MIN 8
#define RB_STRUCT_MAX 4096

static int check_size(uint32_t usize, const char *what)
{
	if (usize < RB_STRUCT_MIN || usize > RB_STRUCT_MAX)
		return rb_err(
			-EINVAL,
			"%s: size %u is not a struct size (set it to sizeof the struct)",
			what, usize);
	return 0;
}

int rb_struct_in(void *dst, size_t ksize, const void *src, const char *what)
{
	uint32_t usize;
	int ret;

	if (!src)
		return rb_err(-EINVAL, "%s: NULL", what);
	memcpy(&usize, src, sizeof(usize));
	ret = check_size(usize, what);
	if (ret)
		return ret;
	memset(dst, 0, ksize);
	if (usize > ksize) {
		const unsigned char *tail = (const unsigned char *)src + ksize;

		for (size_t i = 0; i < usize - ksize; i++)
			if (tail[i])
				return rb_err(
					-E2BIG,
					"%s: byte %zu of the caller's struct is not zero, and this library (%zu bytes) does not know that field",
					what, ksize + i, ksize);
	}
	memcpy(dst, src, usize < ksize ? usize : ksize);
	/* the library works with its own size from here on */
	memcpy(dst, &(uint32_t){(uint32_t)ksize}, sizeof(uint32_t));
	return 0;
}

int rb_struct_size(const void *user, const char *what)
{
	uint32_t usize;

	if (!user)
		return rb_err(-EINVAL, "%s: NULL", what);
	memcpy(&usize, user, sizeof(usize));
	return check_size(usize, what) ?: (int)usize;
}

void rb_struct_out(void *user, uint32_t usize, const void *src, size_t ksize)
{
	uint32_t n = usize < ksize ? usize : (uint32_t)ksize;

	memcpy(user, src, n);
	if (usize > n)
		memset((unsigned char *)user + n, 0, usize - n);
	memcpy(user, &n, sizeof(n));
}
