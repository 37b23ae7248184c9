/* SPDX-License-Identifier: MIT */
/*
 * Both installed headers compile as C++17 without a single warning under
 * -Wall -Wextra -Werror, with g++ and, where installed, clang++: a C++
 * program that includes them, creates a pool and prepares a span. In a
 * sanitized build the program links the sanitized archive, so it takes the
 * build's sanitizer flags and the C++ compiler of the C compiler's family
 * (the runtimes of gcc and clang do not mix).
 */
#include "harness.h"

#ifndef T_SAN
#define T_SAN ""
#endif
#ifndef T_CC
#define T_CC "cc"
#endif

static const char prog[] =
	"#include <regbuf.h>\n"
	"#include <regbuf/liburing.h>\n"
	"int main()\n"
	"{\n"
	"	struct regbuf_pool_opts o;\n"
	"	struct regbuf_pool *p = nullptr;\n"
	"	struct io_uring ring;\n"
	"	regbuf_pool_opts_init(&o);\n"
	"	o.size = 1 << 20;\n"
	"	o.flags = REGBUF_POOL_NO_REGISTER;\n"
	"	if (regbuf_pool_create(&o, &p) || io_uring_queue_init(4, &ring, 0))\n"
	"		return 1;\n"
	"	int n = regbuf_prep_rw_span(&ring, p, 0, 0, regbuf_pool_base(p),\n"
	"				    4096, 0, 0, 0);\n"
	"	regbuf_pool_destroy(p);\n"
	"	io_uring_queue_exit(&ring);\n"
	"	return n == 1 ? 0 : 1;\n"
	"}\n";

int main(void)
{
	const char *b =
		getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD") : "build";
	static const char *const cxx[] = {"g++", "clang++"};
	char src[4200], cmd[20000], out[8192];
	unsigned built = 0;
	bool clang = false;
	FILE *f;

	if (access("include/regbuf.h", R_OK))
		t_skip("not run from the source tree");
	snprintf(src, sizeof(src), "%s/cxx-%d.cc", t_scratch_dir(),
		 (int)getpid());
	f = fopen(src, "w");
	CHECK(f);
	fputs(prog, f);
	fclose(f);
	if (*T_SAN) {
		snprintf(cmd, sizeof(cmd), "%s --version 2>&1", T_CC);
		t_popen(out, sizeof(out), cmd);
		clang = strstr(out, "clang") != NULL;
	}
	for (unsigned i = 0; i < 2; i++) {
		if (*T_SAN && (i == 1) != clang)
			continue;
		snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null", cxx[i]);
		if (t_popen(out, sizeof(out), cmd))
			continue;
		snprintf(cmd, sizeof(cmd),
			 "%s -std=c++17 -Wall -Wextra -Werror %s -Iinclude "
			 "-o %s.%s %s %s/libregbuf.a -luring -lpthread 2>&1 && "
			 "%s.%s",
			 cxx[i], T_SAN, src, cxx[i], src, b, src, cxx[i]);
		if (t_popen(out, sizeof(out), cmd)) {
			fprintf(stderr, "%s: %s", cxx[i], out);
			unlink(src);
			return 1;
		}
		snprintf(cmd, sizeof(cmd), "%s.%s", src, cxx[i]);
		unlink(cmd);
		printf("  %s -std=c++17 -Wall -Wextra -Werror: both headers, no warning; the program ran\n",
		       cxx[i]);
		built++;
	}
	unlink(src);
	if (!built)
		t_skip("no C++ compiler here");
	return 0;
}
