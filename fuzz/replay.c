/* SPDX-License-Identifier: MIT */
/*
 * Runs a fuzz harness over files, without libFuzzer: the seed corpus and
 * every input that ever crashed (fuzz/regressions/) become a regression
 * test in every build of `make check`. With no arguments, a program named
 * t_fuzz_NAME replays fuzz/corpus/NAME and fuzz/regressions/NAME.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

/* Replays every file of dir (or dir itself if it is a file). */
static int replay(const char *dir)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int count = 0;

	if (stat(dir, &st))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return replay_file(dir) ? 0 : 1;
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char path[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!replay_file(path))
			count++;
	}
	if (d)
		closedir(d);
	return count;
}

int main(int argc, char **argv)
{
	int count = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			count += replay(argv[i]);
	} else {
		const char *name = strrchr(argv[0], '/');
		char dir[512];

		name = name ? name + 1 : argv[0];
		if (!strncmp(name, "t_fuzz_", 7))
			name += 7;
		snprintf(dir, sizeof(dir), "fuzz/corpus/%s", name);
		count += replay(dir);
		snprintf(dir, sizeof(dir), "fuzz/regressions/%s", name);
		count += replay(dir);
		if (!count) {
			printf("SKIP: no corpus for %s here (run from the "
			       "source tree)\n",
			       name);
			return 77;
		}
	}
	printf("  replayed %d inputs, no invariant broken\n", count);
	return 0;
}
