/* SPDX-License-Identifier: MIT */
/*
 * `make install` into a staging tree, then a tiny program built against
 * the installed tree with `pkg-config --cflags --libs regbuf` and run with
 * the installed shared library.
 */
#include <sys/wait.h>

#include "harness.h"

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	char dir[] = "/tmp/regbuf-install-XXXXXX", cmd[4096];
	FILE *f;

	if (access("Makefile", R_OK) || access("regbuf.pc.in", R_OK))
		t_skip("not run from the source tree");
	if (run("pkg-config --version >/dev/null 2>&1"))
		t_skip("pkg-config is not installed");
	CHECK(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "make -s install B=%s/build PREFIX=/usr DESTDIR=%s/root "
		 ">%s/log 2>&1",
		 dir, dir, dir);
	if (run(cmd)) {
		snprintf(cmd, sizeof(cmd), "cat %s/log >&2", dir);
		run(cmd);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%s/hello.c", dir);
	f = fopen(cmd, "w");
	CHECK(f);
	fputs("#include <regbuf.h>\n#include <stdio.h>\n#include <string.h>\n"
	      "int main(void) {\n"
	      "  struct regbuf_pool_opts o; struct regbuf_pool *p;\n"
	      "  regbuf_pool_opts_init(&o); o.size = 1 << 20;\n"
	      "  o.flags = REGBUF_POOL_NO_REGISTER;\n"
	      "  if (regbuf_pool_create(&o, &p)) return 1;\n"
	      "  memset(regbuf_pool_base(p), 1, regbuf_pool_size(p));\n"
	      "  printf(\"%s\\n\", regbuf_version());\n"
	      "  regbuf_pool_destroy(p); return 0; }\n",
	      f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cd %1$s && PKG_CONFIG_SYSROOT_DIR=%1$s/root "
		 "PKG_CONFIG_LIBDIR=%1$s/root/usr/lib/pkgconfig "
		 "cc hello.c -o hello $(PKG_CONFIG_SYSROOT_DIR=%1$s/root "
		 "PKG_CONFIG_LIBDIR=%1$s/root/usr/lib/pkgconfig pkg-config "
		 "--cflags --libs regbuf) && LD_LIBRARY_PATH=%1$s/root/usr/lib "
		 "./hello > out && grep -qx '%2$s' out && "
		 "LD_LIBRARY_PATH=%1$s/root/usr/lib ldd ./hello | "
		 "grep -q '%1$s/root/usr/lib/libregbuf.so.0' && "
		 "test -f %1$s/root/usr/share/man/man3/regbuf_pool_create.3 && "
		 "test -x %1$s/root/usr/bin/regbuf && "
		 "! nm -D %1$s/root/usr/lib/libregbuf.so.0 | grep -q ' T rb_'",
		 dir, regbuf_version());
	if (run(cmd)) {
		fprintf(stderr, "installed tree does not work: %s\n", cmd);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
	printf("installed, built with pkg-config, ran against the .so\n");
	return 0;
}
