/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "cli.h"

static const struct cmd cmds[] = {
	{"info", "what this kernel and machine support", info_usage, cmd_info},
	{"inspect", "folio map and registration plan of memory", inspect_usage,
	 cmd_inspect},
	{"bench", "measure regbuf against the usual ways", bench_usage,
	 cmd_bench},
	{"demo", "a guided tour on this machine", demo_usage, cmd_demo},
};

static void print_usage(FILE *f)
{
	fprintf(f, "usage: regbuf [--version] [--help] <command> [args]\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'regbuf help <command>' shows a command's options.\n");
}

static const struct cmd *find(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	const struct cmd *c = cmd ? find(cmd) : NULL;
	va_list ap;

	fprintf(stderr, "regbuf%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c)
		fprintf(stderr, "%s", c->usage);
	else
		print_usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("regbuf %s\n", regbuf_version());
		return 0;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			print_usage(stdout);
			return 0;
		}
		c = find(argv[2]);
		if (!c)
			return usage_error(NULL, "unknown command '%s'",
					   argv[2]);
		printf("%s", c->usage);
		return 0;
	}
	c = find(argv[1]);
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[1]);
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s", c->usage);
			return 0;
		}
	return c->run(argc - 1, argv + 1);
}

int64_t parse_size(const char *s)
{
	char *end;
	double v;
	int64_t mul = 1;

	if (!s || !*s)
		return -1;
	v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		mul = 1LL << 10;
		break;
	case 'm':
		mul = 1LL << 20;
		break;
	case 'g':
		mul = 1LL << 30;
		break;
	case 't':
		mul = 1LL << 40;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (*end && end[1] && strcasecmp(end + 1, "ib") &&
	    strcasecmp(end + 1, "b"))
		return -1;
	return (int64_t)(v * (double)mul);
}

const char *fmt_size(uint64_t b, char *buf, size_t n)
{
	static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	unsigned i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, n, "%llu %s", (unsigned long long)v, u[i]);
	else
		snprintf(buf, n, "%.1f %s", v, u[i]);
	return buf;
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

unsigned pool_slot_iovecs(const struct regbuf_pool *pool, struct iovec *iov,
			  unsigned max)
{
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	unsigned n;

	if (regbuf_pool_info(pool, &info))
		return 0;
	for (n = 0; n < info.nr_registered_slots && n < max; n++) {
		struct regbuf_slot_info s = {.struct_size = sizeof(s)};

		regbuf_pool_slot(pool, n, &s);
		iov[n].iov_base = (char *)regbuf_pool_base(pool) + s.offset;
		iov[n].iov_len = s.len;
	}
	return n;
}

/* ---- JSON ---- */

static void sep(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key)
		fprintf(j->f, "\"%s\":", key);
}

void json_begin(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
	fputc('{', f);
}

void json_end(struct json *j)
{
	fputs("}\n", j->f);
}

void json_obj(struct json *j, const char *key)
{
	sep(j, key);
	fputc('{', j->f);
	j->first[++j->depth] = true;
}

void json_arr(struct json *j, const char *key)
{
	sep(j, key);
	fputc('[', j->f);
	j->first[++j->depth] = true;
}

void json_close(struct json *j, char c)
{
	fputc(c, j->f);
	j->depth--;
}

void json_str(struct json *j, const char *key, const char *v)
{
	sep(j, key);
	fputc('"', j->f);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fprintf(j->f, "\\%c", *v);
		else if ((unsigned char)*v < 0x20)
			fprintf(j->f, "\\u%04x", *v);
		else
			fputc(*v, j->f);
	}
	fputc('"', j->f);
}

void json_int(struct json *j, const char *key, int64_t v)
{
	sep(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	sep(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_num(struct json *j, const char *key, double v)
{
	sep(j, key);
	fprintf(j->f, "%.4g", v);
}

void json_bool(struct json *j, const char *key, bool v)
{
	sep(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	sep(j, key);
	fputs("null", j->f);
}
