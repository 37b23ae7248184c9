/* SPDX-License-Identifier: MIT */
/* A minimal JSON writer for the CLI's --json output. */
#include <string.h>

#include "json.h"

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
