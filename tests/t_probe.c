/* SPDX-License-Identifier: MIT */
/*
 * Feature probes on the real kernel, cross-checked with its version where
 * the version settles the answer; and the refusals: io_uring_setup blocked
 * by a seccomp filter (EPERM, as Docker's default profile does) must read
 * "blocked" in the library and in `regbuf info --json`, pools must still
 * work as plain memory, attach must fail clearly, nothing may crash.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "harness.h"

/* Fail system call nr with EPERM in this process and its children. */
static void block_io_uring(unsigned nr)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		_exit(T_SKIP);
}

enum how { SECCOMP_SETUP, SYSCTL, SECCOMP_REGISTER };

/* SYSCTL: io_uring disabled by kernel.io_uring_disabled=2; SECCOMP_*: a
 * filter refuses io_uring_setup (Docker's profile), or lets rings be
 * created and refuses io_uring_register. */
static int blocked_child(enum how how)
{
	int sysctl = how == SYSCTL;
	struct regbuf_features f = {.struct_size = sizeof(f)};
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct regbuf_buf b;
	char cmd[512], out[4096] = "";
	FILE *pp;

	if (how != SYSCTL)
		block_io_uring(how == SECCOMP_SETUP
				       ? 425 /* io_uring_setup */
				       : 427 /* io_uring_register */);
	CHECK_EQ(regbuf_features_get(&f), 0);
	CHECK_EQ(f.io_uring,
		 sysctl ? REGBUF_IO_URING_DISABLED : REGBUF_IO_URING_BLOCKED);
	CHECK_EQ(f.io_uring_errno, EPERM);
	CHECK(strstr(f.why, sysctl ? "io_uring_disabled" : "seccomp"));
	if (how == SECCOMP_REGISTER)
		CHECK(strstr(f.why, "io_uring_register is refused"));
	/* The pool degrades to plain aligned memory. */
	regbuf_pool_opts_init(&o);
	o.size = 4 << 20;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK(!(info.flags & REGBUF_INFO_REGISTERED));
	CHECK_EQ(info.io_uring_errno, EPERM);
	CHECK(strstr(info.notes, "not registered"));
	CHECK_EQ(regbuf_alloc(p, 65536, 0, &b), 0);
	CHECK_EQ(b.slot, REGBUF_SLOT_NONE);
	memset(b.addr, 7, 65536);
	CHECK_EQ(regbuf_free(p, &b), 0);
	CHECK_EQ(regbuf_pool_attach(p, 0, 0), -EINVAL);
	CHECK(strstr(regbuf_last_error(), "not registered"));
	regbuf_pool_destroy(p);
	/* The CLI, under the same filter (inherited across exec). */
	snprintf(cmd, sizeof(cmd), "%s/regbuf info --json",
		 getenv("REGBUF_BUILD") ? getenv("REGBUF_BUILD") : "build");
	pp = popen(cmd, "r");
	CHECK(pp);
	CHECK(fgets(out, sizeof(out), pp));
	CHECK_EQ(pclose(pp), 0);
	CHECK(strstr(out, sysctl ? "\"io_uring\":\"disabled\""
				 : "\"io_uring\":\"blocked\""));
	CHECK(strstr(out, "\"io_uring_errno\":1"));
	return 0;
}

/*
 * From 6.13 a ring's own memory is charged to RLIMIT_MEMLOCK: with none
 * left no ring can be made, which is not io_uring being blocked. The
 * state reads available with the reason, and the probe is taken again
 * once a ring can be made (at most once a second). In a fresh process of
 * an accounted user (uid 65529 from root).
 */
static int memlock_zero_child(void)
{
	struct regbuf_features f = {.struct_size = sizeof(f)};
	struct rlimit rl;

	if (geteuid() == 0 && (setgid(65529) || setuid(65529)))
		return 10;
	CHECK_EQ(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	rl.rlim_cur = 0;
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	CHECK_EQ(regbuf_features_get(&f), 0);
	if (f.io_uring_errno != ENOMEM) {
		/* this kernel does not charge rings: nor says the probe */
		CHECK(!(f.features & REGBUF_FEAT_RING_MEMLOCK));
		return T_SKIP;
	}
	CHECK_EQ(f.io_uring, REGBUF_IO_URING_AVAILABLE);
	CHECK(strstr(f.why, "no ring could be made"));
	CHECK(!(f.features & REGBUF_FEAT_CLONE));
	/* a ring can be made again: probed again a second later */
	rl.rlim_cur = rl.rlim_max;
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	usleep(1100 * 1000);
	CHECK_EQ(regbuf_features_get(&f), 0);
	CHECK_EQ(f.io_uring, REGBUF_IO_URING_AVAILABLE);
	CHECK_EQ(f.io_uring_errno, 0);
	CHECK(f.features & REGBUF_FEAT_CLONE);
	/* the kernel refused a ring at 0: the probe finds rings charged */
	CHECK(f.features & REGBUF_FEAT_RING_MEMLOCK);
	return 0;
}

#define DISABLED_PATH "/proc/sys/kernel/io_uring_disabled"

static int read_disabled(void)
{
	FILE *f = fopen(DISABLED_PATH, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_disabled(int v)
{
	FILE *f = fopen(DISABLED_PATH, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%d\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* kernel.io_uring_disabled=2 for the time of one child, then restored,
 * whatever the child did. Returns 1 if tried. */
static int sysctl_disabled(void)
{
	int old = read_disabled(), st, rc;
	pid_t pid;

	if (old < 0 || geteuid() != 0) {
		printf("io_uring_disabled=2: %s, not tried\n",
		       old < 0 ? "no such sysctl" : "not root");
		return 0;
	}
	if (write_disabled(2)) {
		printf("io_uring_disabled=2: cannot write the sysctl, not "
		       "tried\n");
		return 0;
	}
	fflush(stdout);
	/* A fresh process: this one has its probe results cached. */
	pid = fork();
	if (!pid) {
		alarm(60);
		execl("/proc/self/exe", "t_probe", "--disabled-child",
		      (char *)NULL);
		_exit(127);
	}
	rc = pid > 0 ? (int)waitpid(pid, &st, 0) : -1;
	CHECK_EQ(write_disabled(old), 0);
	CHECK_EQ(read_disabled(), old);
	CHECK(rc == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("io_uring_disabled=2 reported as disabled; pool degraded; "
	       "sysctl restored to %d\n",
	       old);
	return 1;
}

int main(int argc, char **argv)
{
	struct regbuf_features f = {.struct_size = sizeof(f)};
	int v = t_kver(), st;
	pid_t pid;

	if (argc == 2 && !strcmp(argv[1], "--disabled-child"))
		return blocked_child(SYSCTL);
	/* The child probes from scratch: fork before this process caches
	 * its own probe results. */
	for (int how = SECCOMP_SETUP; how <= SECCOMP_REGISTER; how += 2) {
		pid = fork();
		CHECK(pid >= 0);
		if (!pid)
			_exit(blocked_child(how));
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFEXITED(st));
		if (WEXITSTATUS(st) == T_SKIP)
			t_skip("cannot install a seccomp filter here");
		CHECK_EQ(WEXITSTATUS(st), 0);
		printf("seccomp refusing %s: reported as blocked; pool degraded\n",
		       how == SECCOMP_SETUP ? "io_uring_setup"
					    : "io_uring_register");
	}
	pid = fork();
	CHECK(pid >= 0);
	if (!pid)
		_exit(memlock_zero_child());
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	if (WEXITSTATUS(st) == T_SKIP)
		printf("RLIMIT_MEMLOCK 0: rings are not charged on this kernel "
		       "(and the probe says so), not tried\n");
	else
		CHECK_EQ(WEXITSTATUS(st), 0);
	if (WEXITSTATUS(st) == 0)
		printf("RLIMIT_MEMLOCK 0 (no ring can be made): available, with "
		       "the reason, probed again once a ring can be made; "
		       "ring_memlock found\n");
	CHECK_EQ(regbuf_features_get(&f), 0);
	/* Bad sizes are refused, nothing else read. */
	{
		struct regbuf_features bad = {.struct_size = 3};

		CHECK_EQ(regbuf_features_get(&bad), -EINVAL);
		CHECK_EQ(regbuf_features_get(NULL), -EINVAL);
	}
	if (f.io_uring != REGBUF_IO_URING_AVAILABLE)
		t_skip("io_uring is %d here: %s", f.io_uring, f.why);
	printf("kernel %s, features 0x%llx\n", f.kernel,
	       (unsigned long long)f.features);
	/* Probes must agree with what the version guarantees. */
	if (v >= 5019) {
		CHECK(f.features & REGBUF_FEAT_SPARSE);
		CHECK(f.features & REGBUF_FEAT_PBUF_RING);
	}
	if (v >= 6012) {
		CHECK(f.features & REGBUF_FEAT_CLONE);
		CHECK(f.features & REGBUF_FEAT_PBUF_INC);
		CHECK(f.features & REGBUF_FEAT_COALESCE);
	} else {
		CHECK(!(f.features & REGBUF_FEAT_CLONE));
		CHECK(!(f.features & REGBUF_FEAT_COALESCE));
	}
	if (v >= 6013) {
		CHECK(f.features & REGBUF_FEAT_CLONE_RANGES);
		CHECK(f.features & REGBUF_FEAT_MEM_REGION);
	} else {
		CHECK(!(f.features & REGBUF_FEAT_CLONE_RANGES));
	}
	if (v >= 6015)
		CHECK(f.features & REGBUF_FEAT_RW_VEC_FIXED);
	if (v >= 6018)
		CHECK(f.features & REGBUF_FEAT_QUERY);
	else
		CHECK(!(f.features & REGBUF_FEAT_QUERY));
	if (v >= 6007)
		CHECK(f.features & REGBUF_FEAT_PAGEMAP_SCAN);
	else
		CHECK(!(f.features & REGBUF_FEAT_PAGEMAP_SCAN));
	if (f.features & REGBUF_FEAT_MIN_LEFT)
		CHECK(f.features & REGBUF_FEAT_PBUF_INC);
	for (int i = 0; i < REGBUF_FEAT_NR; i++)
		CHECK(regbuf_feature_name(1ULL << i));
	CHECK(!regbuf_feature_name(3));

	sysctl_disabled();
	return 0;
}
