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

int main(void)
{
	struct regbuf_features f = {.size = sizeof(f)};

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
	return 0;
}
