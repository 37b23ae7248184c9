/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd cmds[] = {
	{"info", "what this kernel and machine support", info_usage, cmd_info},
	{"inspect", "folio map and registration plan of memory", inspect_usage,
	 cmd_inspect},
	{"bench", "measure regbuf against the usual ways", bench_usage,
	 cmd_bench},
	{"ps", "registered memory of every process, once", ps_usage, cmd_ps},
	{"top", "the same, refreshed in the terminal", top_usage, cmd_top},
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

static int unknown_command(const char *name)
{
	fprintf(stderr, "regbuf: unknown command '%s'\n", name);
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
			return unknown_command(argv[2]);
		printf("%s", c->usage);
		return 0;
	}
	c = find(argv[1]);
	if (!c)
		return unknown_command(argv[1]);
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s", c->usage);
			return 0;
		}
	return c->run(argc - 1, argv + 1);
}
