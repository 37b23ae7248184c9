/* SPDX-License-Identifier: MIT */
/*
 * A test killed with SIGKILL in the middle of its I/O leaves no file behind:
 * not in the scratch directory, not in the working directory, and `git
 * status` of the tree is what it was before.
 */
#include <signal.h>
#include <time.h>

#include "harness.h"

/* Names in a directory, sorted into one string (order is not stable). */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *listing(const char *dir)
{
	char *names[4096], *out;
	size_t n = 0, len = 1;
	struct dirent *e;
	DIR *d = opendir(dir);

	CHECK(d);
	while ((e = readdir(d)) && n < 4096)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	out = calloc(1, len);
	CHECK(out);
	for (size_t i = 0; i < n; i++) {
		strcat(strcat(out, names[i]), "\n");
		free(names[i]);
	}
	return out;
}

static char *git_status(void)
{
	static char out[1 << 16];

	if (t_popen(out, sizeof(out),
		    "git status --porcelain --untracked-files=all "
		    "2>/dev/null") ||
	    !out[0])
		return strcpy(out, "(no git tree or nothing to report)\n");
	return out;
}

/* Does process pid hold a file (deleted or not) under dir open? */
static bool holds_file_in(pid_t pid, const char *dir)
{
	char fdir[64], link[330], target[4200];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(fdir, sizeof(fdir), "/proc/%d/fd", (int)pid);
	d = opendir(fdir);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%s", fdir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = !strncmp(target, dir, strlen(dir));
	}
	closedir(d);
	return found;
}

/* Run test (NULL: a child of this test writing through t_open_direct),
 * kill it with SIGKILL while its scratch file is open. */
static void kill_mid_io(const char *test, const char *abs_dir)
{
	char prog[4200], *dir_before, *cwd_before, *git_before, *dir_after,
		*cwd_after;
	const char *b =
		getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD") : "build";
	int st, waited_ms = 0;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/tests/%s", b, test ? test : "");
	if (test && access(prog, X_OK)) {
		printf("  %s not built, not run\n", test);
		return;
	}
	dir_before = listing(t_scratch_dir());
	cwd_before = listing(".");
	git_before = strdup(git_status());
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0 && !test) {
		/* the harness's own O_DIRECT I/O, forever */
		static char blk[1 << 16] __attribute__((aligned(4096)));
		int fd = t_open_direct(1 << 20);

		for (unsigned i = 0;; i++)
			if (pwrite(fd, blk, sizeof(blk),
				   (off_t)(i % 16) * (off_t)sizeof(blk)) < 0)
				_exit(1);
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		setenv("REGBUF_STRESS_SECONDS", "60", 1);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	/* In the middle of its I/O: its scratch file is open, then a little
	 * longer so that reads and writes are in flight. */
	while (!holds_file_in(pid, abs_dir) && waited_ms < 60000) {
		CHECK_EQ(waitpid(pid, &st, WNOHANG), 0);
		usleep(5000);
		waited_ms += 5;
	}
	CHECK(holds_file_in(pid, abs_dir));
	usleep(300000);
	CHECK_EQ(kill(pid, SIGKILL), 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	dir_after = listing(t_scratch_dir());
	cwd_after = listing(".");
	if (strcmp(dir_before, dir_after) || strcmp(cwd_before, cwd_after) ||
	    strcmp(git_before, git_status())) {
		fprintf(stderr, "%s left files behind:\n%s",
			test ? test : "the child", git_status());
		exit(1);
	}
	free(dir_after);
	free(cwd_after);
	printf("  %s killed after %d ms, with its scratch file open: "
	       "nothing left in %s, in . or in git status\n",
	       test ? test : "a child writing O_DIRECT", waited_ms + 300,
	       t_scratch_dir());
	free(dir_before);
	free(cwd_before);
	free(git_before);
}

int main(void)
{
	char abs_dir[4096];
	int fd;

	/* The harness's own scratch files: unlinked from the start. */
	fd = t_open_direct(1 << 20);
	CHECK(fd >= 0);
	{
		char link[64], target[4200];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		CHECK(n > 0);
		target[n] = '\0';
		CHECK(strstr(target, "(deleted)") || strstr(target, "#"));
		printf("  scratch file: %s\n", target);
	}
	close(fd);
	CHECK(realpath(t_scratch_dir(), abs_dir));
	if (!t_io_uring_ok())
		t_skip("io_uring is not available here (the tests that do "
		       "I/O skip)");
	kill_mid_io("t_stress", abs_dir);
	kill_mid_io(NULL, abs_dir);
	return 0;
}
