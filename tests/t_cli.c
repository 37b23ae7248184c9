/* SPDX-License-Identifier: MIT */
/*
 * The regbuf CLI as a user meets it: --help, --version, help CMD, exit 2
 * on unknown commands and options, info --json fields, inspect of a pool
 * and of another process's range.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "harness.h"

static char out[1 << 16];

/* Runs [wrap] build/<cmd>; stdout (and stderr when stderr_too) lands in out. */
static bool stderr_too;
static const char *wrap = "";

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024], full[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s%s/%s %s", wrap,
		 getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD") : "build", cmd,
		 stderr_too ? "2>&1" : "2>/dev/null");
	return t_popen(out, sizeof(out), full);
}

/* A number after "key": in out, or -1. */
static double json_field(const char *key)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(out, pat);
	return p ? strtod(p + strlen(pat), NULL) : -1;
}

/*
 * bench alloc's fill at the first failure does not depend on timing, so
 * it can be checked: regbuf places the same requests no worse than plain
 * best fit, which does no better than an allocator that could move
 * buffers.
 */
static void bench_alloc_fill(void)
{
	double fill, held, best, moving;

	CHECK_EQ(sh("regbuf bench alloc --repeat 1 --json"), 0);
	fill = json_field("fill_at_first_failure");
	held = json_field("held_at_first_failure");
	best = json_field("best_fit_fill_at_first_failure");
	moving = json_field("moving_fill_at_first_failure");
	CHECK(best > 0.5 && best <= moving && moving <= 1);
	CHECK(fill >= best && held >= fill && held <= 1);
	printf("  bench alloc: fill at the first failure %.1f %%, plain best "
	       "fit %.1f %%, movable buffers %.1f %%\n",
	       fill * 100, best * 100, moving * 100);
}

int main(void)
{
	static const char *const keys[] = {
		"\"kernel\":",
		"\"io_uring\":",
		"\"registers_by_folio\":",
		"\"features\":{",
		"\"sparse\":",
		"\"clone\":",
		"\"clone_ranges\":",
		"\"pbuf_ring\":",
		"\"pbuf_inc\":",
		"\"min_left\":",
		"\"mem_region\":",
		"\"query\":",
		"\"rw_vec_fixed\":",
		"\"coalesce\":",
		"\"hugepages\":{",
		"\"2M\":{\"total\":",
		"\"1G\":{\"total\":",
		"\"thp\":",
		"\"memlock\":{\"limit\":",
		"\"cap_ipc_lock\":",
		"\"numa_nodes\":",
	};
	char *region;
	pid_t self = getpid();

	CHECK_EQ(sh("regbuf --version"), 0);
	CHECK(!strncmp(out, "regbuf ", 7) && strstr(out, regbuf_version()));
	CHECK_EQ(sh("regbuf --help"), 0);
	CHECK(strstr(out, "usage: regbuf") && strstr(out, "inspect"));
	CHECK_EQ(sh("regbuf help inspect"), 0);
	CHECK(strstr(out, "--pid"));
	CHECK_EQ(sh("regbuf info --help"), 0);
	CHECK_EQ(sh("regbuf frobnicate"), 2);
	CHECK_EQ(out[0], '\0'); /* usage goes to stderr */
	CHECK_EQ(sh("regbuf info --bogus"), 2);
	CHECK_EQ(sh("regbuf"), 2);
	CHECK_EQ(sh("regbuf bench nosuch"), 2);
	CHECK_EQ(sh("regbuf inspect --pid 1"), 2);

	CHECK_EQ(sh("regbuf info --json"), 0);
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strstr(out, keys[i])) {
			fprintf(stderr, "info --json lacks %s: %s\n", keys[i],
				out);
			return 1;
		}
	CHECK(out[0] == '{' && strstr(out, "}\n"));
	/* by folio: yes only where the kernel has kernel/'s interface */
	{
		char sym[128];
		int has = !t_popen(
			sym, sizeof(sym),
			"grep -q ' pin_user_folios_fast$' /proc/kallsyms");

		CHECK(strstr(out, has ? "\"registers_by_folio\":\"yes\""
				      : "\"registers_by_folio\":\"no\"") ||
		      access("/proc/kallsyms", R_OK));
		printf("  registers by folio: %s\n", has ? "yes" : "no");
	}
	CHECK_EQ(sh("regbuf info"), 0);
	CHECK(strstr(out, "io_uring") && strstr(out, "memlock"));

	/* inspect a pool */
	CHECK_EQ(sh("regbuf inspect --size 8M --backing 4k --json"), 0);
	CHECK(strstr(out, "\"source\":") && strstr(out, "\"runs\":[") &&
	      strstr(out, "\"plan\":[") && strstr(out, "\"as_one_buffer\":{") &&
	      strstr(out, "\"cost_class\":\"per_page\""));

	/* inspect this process: 8 MiB, the first 2 MiB 4K, the rest THP */
	region = mmap(NULL, 10 << 20, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(region != MAP_FAILED);
	region = (char *)(((uintptr_t)region + (2 << 20) - 1) &
			  ~(uintptr_t)((2 << 20) - 1));
	madvise(region, 2 << 20, MADV_NOHUGEPAGE);
	madvise(region + (2 << 20), 6 << 20, MADV_HUGEPAGE);
	memset(region, 1, 8 << 20);
	CHECK_EQ(sh("regbuf inspect --pid %d --addr %p --len 8M --json", self,
		    region),
		 0);
	printf("%s", out);
	if (strstr(out, "\"thp\"")) {
		struct regbuf_features f = REGBUF_STRUCT_INIT(f);

		/* the ~100x accounting rescan is gone from 7.2 */
		regbuf_features_get(&f);
		CHECK(strstr(out, f.features & REGBUF_FEAT_HPAGE_XARRAY
					  ? "\"cost_class\":\"per_page\""
					  : "\"cost_class\":\"mixed\""));
		CHECK(strstr(out, "\"plan\":[{\"offset\":0,"));
	}
	CHECK_EQ(sh("regbuf inspect --pid %d --addr %p --len 8M", self, region),
		 0);
	CHECK(strstr(out, "advice:"));
	/* An unmapped address is named. */
	stderr_too = true;
	CHECK_EQ(sh("regbuf inspect --pid %d --addr 0x1000 --len 4096", self),
		 1);
	CHECK(strstr(out, "0x1000"));
	CHECK_EQ(sh("regbuf inspect --pid 999999999 --addr 0x1000 --len 4096"),
		 1);
	CHECK(strstr(out, "no process 999999999"));
	/* Another user's process: the permission error is explained. */
	if (geteuid() == 0 && !access("/usr/bin/setpriv", X_OK))
		wrap = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
	if (*wrap && sh("regbuf --version") != 0) {
		printf("  inspect of another user's process: uid 65534 cannot "
		       "run the build tree, not tried\n");
		wrap = "";
	} else if (*wrap) {
		CHECK_EQ(sh("regbuf inspect --pid %d --addr %p --len 8M", self,
			    region),
			 1);
		CHECK(strstr(out, "permission denied"));
		wrap = "";
	} else {
		printf("  inspect of another user's process: not root, not "
		       "tried\n");
	}
	stderr_too = false;
	bench_alloc_fill();
	return 0;
}
