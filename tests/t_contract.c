/* SPDX-License-Identifier: MIT */
/*
 * Contracts an outside program relies on: the struct-size contract
 * (clients built against a truncated and an extended struct, in and out),
 * and an explanation for every failing call.
 */
#include <stddef.h>

#include "harness.h"

/* What a client built against older headers passes: a prefix. */
struct old_opts {
	uint32_t struct_size, flags;
	uint64_t size;
	int32_t backing, numa_node;
};

/* ... and one built against newer headers: a field this library lacks. */
struct new_opts {
	struct regbuf_pool_opts o;
	uint64_t future;
};

struct new_info {
	struct regbuf_pool_info i;
	unsigned char future[64];
};

static void opts_in(void)
{
	struct old_opts old = {.struct_size = sizeof(old),
			       .flags = REGBUF_POOL_NO_REGISTER,
			       .size = 1 << 20,
			       .backing = REGBUF_BACKING_PAGES,
			       .numa_node = -1};
	struct new_opts nw = {.future = 0};
	struct regbuf_pool *p;
	struct regbuf_pool_info info = REGBUF_STRUCT_INIT(info);

	/* older client: accepted, the rest defaulted (populate, 1 GiB
	 * slots, ...) */
	CHECK_EQ(regbuf_pool_create((struct regbuf_pool_opts *)&old, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK_EQ(info.size, 1u << 20);
	CHECK_EQ(info.backing, REGBUF_BACKING_PAGES);
	CHECK(info.flags & REGBUF_INFO_POPULATED);
	regbuf_pool_destroy(p);
	/* newer client, unknown field zero: accepted */
	regbuf_pool_opts_init(&nw.o);
	nw.o.struct_size = sizeof(nw);
	nw.o.size = 1 << 20;
	nw.o.flags = REGBUF_POOL_NO_REGISTER;
	CHECK_EQ(regbuf_pool_create(&nw.o, &p), 0);
	regbuf_pool_destroy(p);
	/* newer client using that field: -E2BIG, explained, nothing made */
	nw.future = 1;
	p = NULL;
	CHECK_EQ(regbuf_pool_create(&nw.o, &p), -E2BIG);
	CHECK(p == NULL);
	CHECK(strstr(regbuf_last_error(), "does not know"));
	/* not a struct size at all */
	nw.o.struct_size = 4;
	CHECK_EQ(regbuf_pool_create(&nw.o, &p), -EINVAL);
	CHECK(*regbuf_last_error());
	printf("  pool options: a %zu-byte (older) struct takes the defaults, "
	       "a %zu-byte (newer) one is taken with its tail zero and "
	       "refused with -E2BIG otherwise\n",
	       sizeof(old), sizeof(nw));
}

static void info_out(void)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	size_t cut = offsetof(struct regbuf_pool_info, registered_bytes);
	unsigned char buf[sizeof(struct regbuf_pool_info) + 64];
	struct regbuf_pool_info *old = (struct regbuf_pool_info *)buf;
	struct new_info nw;
	struct regbuf_alloc_stats st;

	regbuf_pool_opts_init(&o);
	o.size = 1 << 20;
	o.flags = REGBUF_POOL_NO_REGISTER;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	/* older client: only its prefix is written, not a byte more */
	memset(buf, 0xa5, sizeof(buf));
	old->struct_size = (uint32_t)cut;
	CHECK_EQ(regbuf_pool_info(p, old), 0);
	CHECK_EQ(old->struct_size, cut);
	CHECK_EQ(old->size, regbuf_pool_size(p));
	for (size_t i = cut; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0xa5);
	/* newer client: its tail is zeroed, struct_size says what was
	 * filled */
	memset(&nw, 0xa5, sizeof(nw));
	nw.i.struct_size = sizeof(nw);
	CHECK_EQ(regbuf_pool_info(p, &nw.i), 0);
	CHECK_EQ(nw.i.struct_size, sizeof(struct regbuf_pool_info));
	CHECK_EQ(nw.i.size, regbuf_pool_size(p));
	for (size_t i = 0; i < sizeof(nw.future); i++)
		CHECK_EQ(nw.future[i], 0);
	/* the stats struct carries the size too */
	memset(&st, 0xa5, sizeof(st));
	st.struct_size = offsetof(struct regbuf_alloc_stats, peak_bytes);
	CHECK_EQ(regbuf_alloc_stats(p, &st), 0);
	CHECK_EQ(st.bytes_in_use, 0u);
	CHECK_EQ(st.peak_bytes, 0xa5a5a5a5a5a5a5a5ULL);
	st.struct_size = 0;
	CHECK_EQ(regbuf_alloc_stats(p, &st), -EINVAL);
	regbuf_pool_destroy(p);
	printf("  pool info: a %zu-byte (older) struct gets its prefix only, "
	       "a %zu-byte (newer) one a zeroed tail; alloc stats alike\n",
	       cut, sizeof(nw));
}

static void explained(void)
{
	CHECK_EQ(regbuf_backing_parse("bogus"), -EINVAL);
	CHECK(strstr(regbuf_last_error(), "bogus"));
	printf("  regbuf_backing_parse(\"bogus\"): %s\n", regbuf_last_error());
	CHECK_EQ(regbuf_backing_parse(NULL), -EINVAL);
	CHECK(*regbuf_last_error());
	CHECK_EQ(regbuf_backing_parse("2m"), REGBUF_BACKING_HUGE_2M);
}

int main(void)
{
	opts_in();
	info_out();
	explained();
	return 0;
}
