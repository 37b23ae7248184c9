/* SPDX-License-Identifier: MIT */
/*
 * A snapshot of the registered memory of every process this one may look
 * at (ps_scan.c), shown by `regbuf ps` (ps.c) and `regbuf top` (top.c).
 */
#ifndef REGBUF_CLI_PS_H
#define REGBUF_CLI_PS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ps_buf {
	uint32_t index;
	uint64_t addr, len;
};

struct ps_ring {
	int fd;
	uint32_t nr_slots; /* the table's size (UserBufs:) */
	bool complete;	   /* false: the kernel left the list out (busy) */
	uint32_t nr_bufs;  /* slots holding a buffer */
	struct ps_buf *bufs;
};

/* One address range registered in one or more rings of a process. */
struct ps_range {
	uint64_t addr, len;
	uint32_t rings; /* rings holding it */
	bool mapped;	/* the folio map could be read */
	int source;	/* enum regbuf_map_source */
	char map[96];	/* "hugetlb 2M x4, 4k x16" */
	uint64_t bvecs, plan_bvecs, charge, huge_free_bytes;
	uint32_t plan_slots; /* slots regbuf_plan() cuts it into */
	int cost;	     /* enum regbuf_cost_class */
	char why[96];	     /* when not mapped */
	uint32_t nr_4k;	     /* 4 KiB pages in it */
};

struct ps_proc {
	pid_t pid;
	uid_t uid;
	char comm[32];
	uint64_t vmpin;	   /* bytes */
	uint64_t memlock;  /* soft RLIMIT_MEMLOCK, UINT64_MAX unlimited */
	bool cap_ipc_lock; /* the limit is not enforced on it */
	struct ps_ring *rings;
	uint32_t nr_rings;
	struct ps_range *ranges;
	uint32_t nr_ranges;
	uint64_t charge; /* the ranges' predicted charge, once each */
};

struct ps_user {
	uid_t uid;
	char name[32];
	uint64_t charged;   /* VmPin of all its processes, and rings_own */
	uint64_t rings_own; /* its rings' own memory where it is charged,
			     * each ring once, over all its processes
			     * without CAP_IPC_LOCK */
	uint32_t nr_rings;  /* those distinct rings */
	uint64_t limit;	    /* smallest soft limit of its ring processes */
	bool enforced;	    /* some ring process of it lacks CAP_IPC_LOCK */
	uint32_t procs;	    /* processes with rings */
};

struct ps_snap {
	struct ps_proc *procs;
	uint32_t nr_procs;
	struct ps_user *users;
	uint32_t nr_users;
	bool all;		   /* every process was visible (root) */
	uint64_t huge_2m_free;	   /* free 2 MiB hugepages */
	uint32_t retried, unknown; /* rings whose list was busy */
};

struct ps_filter {
	pid_t pid; /* 0: any */
	uid_t uid; /* (uid_t)-1: any */
	bool maps; /* read folio maps and predict (slower) */
};

/* Take a snapshot; 0 or -errno. */
int ps_scan(const struct ps_filter *f, struct ps_snap *s);
void ps_free(struct ps_snap *s);
/* Read the folio map of a range of process pid and predict its cost. */
void ps_map_range(pid_t pid, struct ps_range *r);
/* --pid P / --user U at argv[*i] into f (advancing *i), or a usage error. */
int ps_parse_filter(const char *cmd, int argc, char **argv, struct ps_filter *f,
		    int *i);

/* The text view of a snapshot (regbuf ps without --json). */
void ps_print_text(const struct ps_snap *s, bool buffers);

/* Advice lines, one sentence each: call fn for every one. */
void ps_advice(const struct ps_snap *s, void (*fn)(void *arg, const char *line),
	       void *arg);

/* "alice" or "1000" */
const char *ps_user_name(uid_t uid, char *buf, size_t n);

#endif
