/*
 * deny SYSCALL[,SYSCALL...] PROGRAM [ARG...]
 *
 * Run PROGRAM with the named system calls failing with EPERM, by a seccomp
 * filter inherited by every child, as container runtimes block io_uring
 * (Docker's default profile denies io_uring_setup, io_uring_enter and
 * io_uring_register). Names: io_uring_setup, io_uring_enter,
 * io_uring_register. x86_64 only; other architectures are killed by the
 * filter rather than let through.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static const struct {
	const char *name;
	unsigned nr;
} calls[] = {
	{"io_uring_setup", 425},
	{"io_uring_enter", 426},
	{"io_uring_register", 427},
};

#define NCALLS (sizeof(calls) / sizeof(calls[0]))

int main(int argc, char **argv)
{
	struct sock_filter f[5 + 2 * NCALLS];
	struct sock_fprog prog;
	unsigned n = 0, nr_denied = 0;
	char *list, *name, *save;

	if (argc < 3) {
		fprintf(stderr,
			"usage: deny SYSCALL[,SYSCALL...] PROGRAM [ARG...]\n");
		return 2;
	}
	f[n++] = (struct sock_filter)BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	list = strdup(argv[1]);
	for (name = strtok_r(list, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		unsigned i;

		for (i = 0; i < NCALLS && strcmp(calls[i].name, name); i++)
			;
		if (i == NCALLS) {
			fprintf(stderr, "deny: unknown system call %s\n", name);
			return 2;
		}
		if (nr_denied == NCALLS) {
			fprintf(stderr, "deny: at most %zu names\n", NCALLS);
			return 2;
		}
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      calls[i].nr, 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(
			BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
		nr_denied++;
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_ALLOW);
	prog.len = n;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("deny: seccomp");
		return 1;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "deny: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
