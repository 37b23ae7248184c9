/* SPDX-License-Identifier: MIT */
/*
 * Every exported function of the shared library and every helper of
 * <regbuf/liburing.h> has a man page (man/man3/NAME.3, or a .so link to
 * the page that documents it) whose SYNOPSIS declares it, and every
 * SYNOPSIS compiles against the headers: a prototype that disagrees with
 * the header is a compile error.
 */
#include "harness.h"

#define MAX_NAMES 256

static char names[MAX_NAMES][64];
static unsigned nr_names;

static void add_name(const char *n)
{
	CHECK(nr_names < MAX_NAMES);
	snprintf(names[nr_names++], sizeof(names[0]), "%s", n);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	CHECK(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	return buf;
}

/* ".BI "int f(struct x *" a ", int " b );" -> "int f(struct x *a, int b);":
 * quoted text is kept as it is, the rest loses its blanks. */
static void roff_to_c(const char *line, char *out, size_t n)
{
	bool quoted = false;
	size_t o = 0;

	for (const char *p = line; *p && o + 1 < n; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (quoted || (*p != ' ' && *p != '\t'))
			out[o++] = *p == '\\' && p[1] == '-' ? (p++, '-') : *p;
	}
	out[o] = '\0';
}

/* The page's SYNOPSIS as C; returns NULL when the page has none. */
static char *synopsis_c(const char *page)
{
	const char *s = strstr(page, ".SH SYNOPSIS"), *end;
	char *c = calloc(1, 65536), line[4096], decl[4096];

	if (!s) {
		free(c);
		return NULL;
	}
	end = strstr(s + 1, "\n.SH ");
	for (const char *p = strchr(s, '\n') + 1; p && p < end;) {
		const char *nl = strchr(p, '\n');
		size_t len = (size_t)(nl - p);

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (!strncmp(line, ".B #include", 11)) {
			strcat(strcat(c, line + 3), "\n");
		} else if (!strncmp(line, ".BI ", 4)) {
			roff_to_c(line + 4, decl, sizeof(decl));
			strcat(strcat(c, decl), "\n");
		}
		p = nl + 1;
	}
	return c;
}

int main(void)
{
	const char *b =
		getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD") : "build";
	char cmd[8400], out[65536], path[512], *hdr, *p;
	unsigned pages = 0;
	FILE *f;

	if (access("man/man3", R_OK) || access("include/regbuf.h", R_OK))
		t_skip("not run from the source tree");
	if (system("cc --version >/dev/null 2>&1"))
		t_skip("no C compiler here");
	/* what the shared library exports */
	snprintf(cmd, sizeof(cmd),
		 "nm -D --defined-only %s/libregbuf.so | awk '$2 == \"T\" "
		 "{ sub(/@.*/, \"\", $3); print $3 }'",
		 b);
	CHECK_EQ(t_popen(out, sizeof(out), cmd), 0);
	for (char *tok = strtok(out, "\n"); tok; tok = strtok(NULL, "\n"))
		add_name(tok);
	CHECK(nr_names > 30);
	/* the helpers */
	hdr = slurp("include/regbuf/liburing.h");
	CHECK(hdr);
	for (p = hdr; (p = strstr(p, "static inline ")); p++) {
		char *name = strstr(p, "regbuf_"), *paren = strchr(p, '(');

		if (name && paren && name < paren) {
			char n[64];

			snprintf(n, sizeof(n), "%.*s", (int)(paren - name),
				 name);
			add_name(n);
		}
	}
	free(hdr);
	for (unsigned i = 0; i < nr_names; i++) {
		char *page, *c;

		snprintf(path, sizeof(path), "man/man3/%s.3", names[i]);
		page = slurp(path);
		if (!page) {
			fprintf(stderr, "%s has no man page\n", names[i]);
			return 1;
		}
		if (!strncmp(page, ".so ", 4)) { /* a link */
			char *nl = strchr(page, '\n');

			if (nl)
				*nl = '\0';
			snprintf(path, sizeof(path), "man/%s", page + 4);
			free(page);
			page = slurp(path);
			CHECK(page);
		}
		c = synopsis_c(page);
		snprintf(cmd, sizeof(cmd), "%s(", names[i]);
		p = c ? strstr(c, cmd) : NULL;
		if (!p || p == c || (p[-1] != ' ' && p[-1] != '*')) {
			fprintf(stderr, "%s: its page %s does not declare it\n",
				names[i], path);
			return 1;
		}
		free(c);
		free(page);
	}
	/* every page's synopsis compiles against the headers */
	snprintf(cmd, sizeof(cmd), "ls man/man3/*.3");
	CHECK_EQ(t_popen(out, sizeof(out), cmd), 0);
	for (char *tok = strtok(out, "\n"); tok; tok = strtok(NULL, "\n")) {
		char *page = slurp(tok), *c, src[4200], log[4096];

		CHECK(page);
		if (!strncmp(page, ".so ", 4) || !(c = synopsis_c(page))) {
			free(page);
			continue;
		}
		snprintf(src, sizeof(src), "%s/synopsis-%d.c", t_scratch_dir(),
			 (int)getpid());
		f = fopen(src, "w");
		CHECK(f);
		fprintf(f, "#define _GNU_SOURCE\n%s", c);
		fclose(f);
		snprintf(cmd, sizeof(cmd),
			 "cc -std=gnu11 -Wall -Werror -fsyntax-only -Iinclude "
			 "%s 2>&1",
			 src);
		if (t_popen(log, sizeof(log), cmd)) {
			fprintf(stderr,
				"%s: the synopsis does not compile:\n%s\n%s",
				tok, c, log);
			return 1;
		}
		unlink(src);
		pages++;
		free(c);
		free(page);
	}
	printf("  %u functions and helpers each declared by their man page; "
	       "%u synopses compile against the headers\n",
	       nr_names, pages);
	return 0;
}
