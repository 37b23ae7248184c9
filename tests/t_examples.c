/* SPDX-License-Identifier: MIT */
/*
 * The examples, run as a user would run them: each verifies its own data
 * (byte for byte) and exits non-zero when anything differs.
 */
#include "harness.h"

static char out[1 << 14];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024], full[1200];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s/examples/%s 2>&1",
		 getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD") : "build",
		 cmd);
	st = t_popen(out, sizeof(out), full);
	printf("  %s: %s", cmd, out);
	return st;
}

/* A few hundred MiB with a tail that is not a whole block. */
static void tcopy(void)
{
	static char chunk[1 << 20];
	uint64_t size = (320ULL << 20) + 12345;
	char src[64], dst[64], cmp[200];
	int fd = t_open_scratch(0, 0), out_fd = t_open_scratch(0, 0), ret;

	/* Both files are unlinked already; the example reaches them through
	 * the descriptors it inherits (popen's shell keeps them open). */
	CHECK(fd >= 0 && out_fd >= 0);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", out_fd);
	for (uint64_t off = 0; off < size; off += sizeof(chunk)) {
		size_t n = size - off < sizeof(chunk) ? (size_t)(size - off)
						      : sizeof(chunk);

		t_fill(chunk, sizeof(chunk), off);
		CHECK_EQ(pwrite(fd, chunk, n, (off_t)off), (ssize_t)n);
	}
	ret = run("tcopy --threads 4 --qd 8 --bs 1M %s %s", src, dst);
	if (ret == 0) {
		CHECK(strstr(out, "matches the copy"));
		snprintf(cmp, sizeof(cmp), "cmp %s %s 2>&1", src, dst);
		ret = t_popen(out, sizeof(out), cmp) ? 1 : 0;
		if (ret)
			fprintf(stderr, "cmp: %s", out);
	}
	close(fd);
	close(out_fd);
	CHECK_EQ(ret, 0);
	CHECK_EQ(run("tcopy --bs 1000 a b"), 2);
}

int main(void)
{
	struct regbuf_features f = {.struct_size = sizeof(f)};

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	regbuf_features_get(&f);
	if (f.features & REGBUF_FEAT_PBUF_RING) {
		/* several connections at once; a small ring so it runs dry */
		CHECK_EQ(run("sink --conns 6 --mib 24 --nbufs 64"), 0);
		CHECK(strstr(out, "verified byte for byte"));
		CHECK_EQ(run("sink --conns 3 --mib 16 --copy"), 0);
		CHECK_EQ(run("sink --conns 4 --mib 16 --inc --buf-size 16384 "
			     "--json"),
			 0);
		CHECK(strstr(out, "\"verified\":true"));
		if (f.features & REGBUF_FEAT_PBUF_INC)
			CHECK(strstr(out, "\"incremental\":true"));
		CHECK_EQ(run("sink --conns 0"), 2);
	} else {
		printf("  sink: no provided-buffer rings on this kernel, not "
		       "run\n");
	}
	tcopy();
	return 0;
}
