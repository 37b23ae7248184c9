/* SPDX-License-Identifier: MIT */
/*
 * `make install` into a staging tree, then a tiny program built against
 * the installed tree with `pkg-config --cflags --libs regbuf` and run with
 * the installed shared library; then the README's first program, taken
 * from README.md, built with the README's own command line (pkg-config
 * regbuf-liburing) and run on a real file.
 */
#include <sys/wait.h>

#include "harness.h"

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The text between the first line starting with open after heading and
 * the next line "```" (exclusive), or the first line starting with open
 * when close is NULL. */
static char *readme_block(const char *readme, const char *heading,
			  const char *open, int whole_block)
{
	const char *h = strstr(readme, heading), *a, *b;

	CHECK(h);
	a = strstr(h, open);
	CHECK(a);
	if (whole_block) {
		a = strchr(a, '\n') + 1;
		b = strstr(a, "\n```");
		CHECK(b);
		b++;
	} else {
		b = strchr(a, '\n');
		CHECK(b);
	}
	return strndup(a, (size_t)(b - a));
}

static void readme_program(const char *dir)
{
	static char readme[1 << 16], cmd[8192], out[512];
	char *prog, *build;
	size_t n;
	int st;
	FILE *f = fopen("README.md", "r");
	int fd = t_open_direct(1 << 20);
	static char blk[1 << 20] __attribute__((aligned(4096)));

	CHECK(f);
	n = fread(readme, 1, sizeof(readme) - 1, f);
	fclose(f);
	readme[n] = '\0';
	prog = readme_block(readme, "## A first program", "```c", 1);
	build = readme_block(readme, "## A first program", "cc hello.c", 0);
	snprintf(cmd, sizeof(cmd), "%s/hello.c", dir);
	f = fopen(cmd, "w");
	CHECK(f);
	fputs(prog, f);
	fclose(f);
	memset(blk, 'r', sizeof(blk));
	CHECK_EQ(pwrite(fd, blk, sizeof(blk), 0), (ssize_t)sizeof(blk));
	/* exactly the README's command, pkg-config looking into the staging
	 * tree first */
	snprintf(cmd, sizeof(cmd),
		 "cd %1$s && export PKG_CONFIG_SYSROOT_DIR=%1$s/root "
		 "PKG_CONFIG_PATH=%1$s/root/usr/lib/pkgconfig && %2$s && "
		 "LD_LIBRARY_PATH=%1$s/root/usr/lib ./hello /proc/%3$d/fd/%4$d "
		 "2>&1",
		 dir, build, (int)getpid(), fd);
	printf("  README: %s\n", build);
	st = t_popen(out, sizeof(out), cmd);
	printf("  README's program: %s", out);
	CHECK_EQ(st, 0);
	CHECK(strstr(out, "read 131072 bytes into fixed buffer slot 0"));
	close(fd);
	free(prog);
	free(build);
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
	/* the same build directory installed again elsewhere: its .pc files
	 * name the new prefix, not the first one's */
	snprintf(
		cmd, sizeof(cmd),
		"make -s install B=%1$s/build PREFIX=/opt/rb DESTDIR=%1$s/opt "
		">%1$s/log 2>&1 && grep -qx 'prefix=/opt/rb' "
		"%1$s/opt/opt/rb/lib/pkgconfig/regbuf.pc && grep -qx "
		"'prefix=/opt/rb' %1$s/opt/opt/rb/lib/pkgconfig/regbuf-liburing.pc",
		dir);
	if (run(cmd)) {
		fprintf(stderr, "install with another PREFIX: stale .pc: %s\n",
			cmd);
		return 1;
	}
	printf("  installed again with PREFIX=/opt/rb from the same build: "
	       ".pc files name it\n");
	if (t_io_uring_ok())
		readme_program(dir);
	else
		printf("  README's program: io_uring not available, not run\n");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
	printf("installed, built with pkg-config, ran against the .so\n");
	return 0;
}
