/* SPDX-License-Identifier: MIT */
/*
 * regbuf demo: the tour for someone who just cloned the repository.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ps.h"

const char demo_usage[] =
	"usage: regbuf demo [--size S] [--dir D]\n"
	"  A tour: what this machine supports, a pool, its plan, 8 rings\n  attached, verified O_DIRECT I/O from 4 threads, a summary.\n";

#define NR_RINGS       8
#define NR_THREADS     4
#define IO_BS	       (128 * 1024)
#define IOS_PER_THREAD 256

struct worker {
	struct regbuf_pool *pool;
	int fd, id;
	int attach_method;
	uint64_t bytes, errors;
	double ms;
	const char *err;
};

/* What `regbuf ps --pid <this demo>` shows now: the rings as the kernel
 * lists them, for any program. */
static void show_ps(void)
{
	struct ps_filter f = {.pid = getpid(), .uid = (uid_t)-1, .maps = true};
	struct ps_snap s;

	if (ps_scan(&f, &s))
		return;
	printf("  what `regbuf ps --pid %d` sees now (any program's rings, from the kernel's fdinfo):\n",
	       (int)getpid());
	fflush(stdout);
	ps_print_text(&s, false);
	ps_free(&s);
}

static uint64_t pattern(uint64_t off, unsigned i)
{
	return (off + i * 8) * 0x9e3779b97f4a7c15ULL ^ 0xa5a5a5a5a5a5a5a5ULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct io_uring ring;
	struct regbuf_buf b;
	double t0 = now_ms();

	if (io_uring_queue_init(4, &ring, 0)) {
		w->err = "io_uring_queue_init failed";
		return NULL;
	}
	w->attach_method = regbuf_pool_attach(w->pool, ring.ring_fd, 0);
	if (regbuf_alloc(w->pool, IO_BS, 0, &b)) {
		w->err = "regbuf_alloc failed";
		goto out;
	}
	for (int n = 0; n < IOS_PER_THREAD; n++) {
		uint64_t off =
			((uint64_t)w->id * IOS_PER_THREAD + (uint64_t)n) *
			IO_BS;
		uint64_t *q = b.addr;
		struct io_uring_sqe *sqe;
		struct io_uring_cqe *cqe;

		for (unsigned i = 0; i < IO_BS / 8; i++)
			q[i] = pattern(off, i);
		for (int dir = 0; dir < 2; dir++) {
			sqe = io_uring_get_sqe(&ring);
			if (w->attach_method > 0 && b.slot >= 0) {
				if (!dir)
					io_uring_prep_write_fixed(sqe, w->fd,
								  b.addr, IO_BS,
								  off, b.slot);
				else
					io_uring_prep_read_fixed(sqe, w->fd,
								 b.addr, IO_BS,
								 off, b.slot);
			} else if (!dir) {
				io_uring_prep_write(sqe, w->fd, b.addr, IO_BS,
						    off);
			} else {
				io_uring_prep_read(sqe, w->fd, b.addr, IO_BS,
						   off);
			}
			io_uring_submit_and_wait(&ring, 1);
			io_uring_wait_cqe(&ring, &cqe);
			if (cqe->res != IO_BS)
				w->errors++;
			io_uring_cqe_seen(&ring, cqe);
			if (!dir)
				memset(b.addr, 0, IO_BS);
		}
		for (unsigned i = 0; i < IO_BS / 8; i++)
			if (q[i] != pattern(off, i)) {
				w->errors++;
				break;
			}
		w->bytes += 2 * IO_BS;
	}
	regbuf_free(w->pool, &b);
out:
	if (w->attach_method > 0)
		regbuf_pool_detach(w->pool, ring.ring_fd);
	io_uring_queue_exit(&ring);
	w->ms = now_ms() - t0;
	return NULL;
}

int cmd_demo(int argc, char **argv)
{
	struct regbuf_features f = {.struct_size = sizeof(f)};
	struct regbuf_machine m = {.struct_size = sizeof(m)};
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct regbuf_pool_opts o;
	struct regbuf_pool *pool;
	struct io_uring rings[NR_RINGS];
	struct worker w[NR_THREADS];
	pthread_t th[NR_THREADS];
	double attach_us = 0, reg_us = 0, t0;
	int64_t size = -1;
	const char *dir = NULL;
	char a[32], b[32];
	int method = 0, fd, ret, refused = 0;
	uint64_t errors = 0, bytes = 0;
	double io_ms = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc) {
			size = parse_size(argv[++i]);
			if (size <= 0)
				return usage_error("demo", "bad size");
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			dir = argv[++i];
		} else {
			return usage_error("demo", "unknown option '%s'",
					   argv[i]);
		}
	}
	regbuf_features_get(&f);
	regbuf_machine_get(&m);
	printf("== 1. This machine\n");
	print_info(stdout, true);

	if (size < 0) {
		/* 1 GiB when hugepages can hold it, otherwise 256 MiB. */
		uint64_t huge = m.huge_1g.free * (1ULL << 30) +
				m.huge_2m.free * (2ULL << 20);

		size = huge >= (1ULL << 30) || strcmp(m.thp, "never") != 0
			       ? 1LL << 30
			       : 256LL << 20;
		/* within RLIMIT_MEMLOCK: what is left less the rings' own
		 * memory, in whole 2 MiB (a huge page is charged whole) */
		if (m.memlock_room != UINT64_MAX &&
		    (uint64_t)size + (512 << 10) > m.memlock_room)
			size = m.memlock_room > (512 << 10)
				       ? (int64_t)(m.memlock_room -
						   (512 << 10)) &
						 ~((2LL << 20) - 1)
				       : 0;
		if (size < (2LL << 20))
			size = 2LL << 20; /* PARTIAL below, if need be */
	}
	printf("\n== 2. A pool of %s, backing AUTO\n",
	       rb_fmt_size((uint64_t)size, a, sizeof(a)));
	regbuf_pool_opts_init(&o);
	o.size = (uint64_t)size;
	ret = regbuf_pool_create(&o, &pool);
	if (ret == -ENOMEM && (o.flags = REGBUF_POOL_PARTIAL, 1))
		ret = regbuf_pool_create(&o, &pool);
	if (ret) {
		printf("  cannot create a pool: %s\n", regbuf_last_error());
		return 1;
	}
	regbuf_pool_info(pool, &info);
	printf("  backing %s, %u chunk(s), populated in %.0f ms, registered once in %.2f ms\n",
	       regbuf_backing_name(info.backing), info.nr_chunks,
	       (double)info.populate_ns / 1e6, (double)info.register_ns / 1e6);
	printf("  %u slot(s), %llu bio_vecs predicted, memlock charge %s\n",
	       info.nr_slots, (unsigned long long)info.predicted_bvecs,
	       rb_fmt_size(info.memlock_charge, b, sizeof(b)));
	for (unsigned i = 0; i < info.nr_slots && i < 4; i++) {
		struct regbuf_slot_info s = {.struct_size = sizeof(s)};

		regbuf_pool_slot(pool, i, &s);
		printf("    slot %u: +%-10llx %-9s %-4s pages of %s%s\n", i,
		       (unsigned long long)s.offset,
		       rb_fmt_size(s.len, a, sizeof(a)),
		       regbuf_backing_name(s.backing),
		       rb_fmt_size(s.page_size, b, sizeof(b)),
		       s.registered ? "" : " (not registered)");
	}
	if (info.notes[0])
		printf("  notes: %s", info.notes);

	printf("\n== 3. Attach %d rings\n", NR_RINGS);
	if (!(info.flags & (REGBUF_INFO_REGISTERED | REGBUF_INFO_PARTIAL))) {
		printf("  skipped: the pool is not registered (%s); it is plain aligned memory and I/O below uses plain reads and writes\n",
		       f.why[0] ? f.why : "io_uring unavailable");
	} else {
		for (int r = 0; r < NR_RINGS; r++) {
			io_uring_queue_init(4, &rings[r], 0);
			t0 = now_ms();
			method = regbuf_pool_attach(pool, rings[r].ring_fd, 0);
			attach_us += (now_ms() - t0) * 1e3;
		}
		show_ps();
		/* Detach leaves an empty table behind: drop it so each ring
		 * can register from scratch below. */
		for (int r = 0; r < NR_RINGS; r++) {
			regbuf_pool_detach(pool, rings[r].ring_fd);
			io_uring_unregister_buffers(&rings[r]);
		}
		/* What each ring would pay registering the pool itself: a
		 * comparison, not part of the tour's data. Where
		 * RLIMIT_MEMLOCK has no room for the pool a second time the
		 * kernel refuses it (-ENOMEM): that is the result. */
		struct iovec iov[64];
		unsigned n = pool_slot_iovecs(pool, iov, 64);

		for (int r = 0; r < NR_RINGS; r++) {
			t0 = now_ms();
			ret = io_uring_register_buffers(&rings[r], iov, n);
			reg_us += (now_ms() - t0) * 1e3;
			if (ret == -ENOMEM)
				refused++;
			else if (ret)
				printf("  registering into ring %d: %s\n", r,
				       strerror(-ret));
			io_uring_unregister_buffers(&rings[r]);
			io_uring_queue_exit(&rings[r]);
		}
		if (refused) {
			regbuf_machine_get(&m);
			if (method == REGBUF_ATTACH_CLONE ||
			    method == REGBUF_ATTACH_CLONE_RANGE)
				printf("  attach by %s: %.1f us per ring, no memlock charged again: all %d rings share the one registration\n",
				       regbuf_attach_method_name(method),
				       attach_us / NR_RINGS, NR_RINGS);
			else
				printf("  attach by %s: %.1f us per ring (no clone on this kernel: each ring registers the pool again)\n",
				       method > 0 ? regbuf_attach_method_name(
							    method)
						  : "refused",
				       attach_us / NR_RINGS);
			printf("  registering again instead: refused in %d of %d rings, each would need another %s of RLIMIT_MEMLOCK and this user has %s left (ulimit -l gives more): here attach is the only way the rings get the pool\n",
			       refused, NR_RINGS,
			       rb_fmt_size(info.memlock_charge, a, sizeof(a)),
			       rb_fmt_size(m.memlock_room, b, sizeof(b)));
		} else {
			printf("  attach by %s: %.1f us per ring; registering again would cost %.1f us per ring (%.0fx more)\n",
			       method > 0 ? regbuf_attach_method_name(method)
					  : "?",
			       attach_us / NR_RINGS, reg_us / NR_RINGS,
			       attach_us > 0 ? reg_us / attach_us : 0);
		}
	}

	printf("\n== 4. %d threads, each with its own ring, O_DIRECT writes and reads through fixed buffers\n",
	       NR_THREADS);
	fd = scratch_file(direct_dir(dir), O_DIRECT);
	if (fd < 0) {
		printf("  skipped: %s does not take O_DIRECT files (use --dir)\n",
		       direct_dir(dir));
	} else {
		t0 = now_ms();
		for (int t = 0; t < NR_THREADS; t++) {
			memset(&w[t], 0, sizeof(w[t]));
			w[t].pool = pool;
			w[t].fd = fd;
			w[t].id = t;
			pthread_create(&th[t], NULL, worker_main, &w[t]);
		}
		for (int t = 0; t < NR_THREADS; t++) {
			pthread_join(th[t], NULL);
			errors += w[t].errors + (w[t].err != NULL);
			bytes += w[t].bytes;
		}
		io_ms = now_ms() - t0;
		close(fd);
		printf("  %s moved and verified in %.0f ms (%.0f MiB/s), %llu error(s)%s\n",
		       rb_fmt_size(bytes, a, sizeof(a)), io_ms,
		       (double)bytes / (1 << 20) / (io_ms / 1e3),
		       (unsigned long long)errors,
		       w[0].attach_method > 0 ? ", fixed buffers"
					      : ", plain I/O (degraded)");
	}

	printf("\n== Summary\n");
	printf("  %-26s %s\n", "io_uring",
	       f.io_uring == REGBUF_IO_URING_AVAILABLE ? "available"
						       : "unavailable");
	printf("  %-26s %s, %s\n", "pool", rb_fmt_size(info.size, a, sizeof(a)),
	       regbuf_backing_name(info.backing));
	printf("  %-26s %.2f ms\n", "registration (once)",
	       (double)info.register_ns / 1e6);
	if (attach_us > 0 && refused)
		printf("  %-26s %.1f us; re-registering does not fit RLIMIT_MEMLOCK\n",
		       "attach per ring", attach_us / NR_RINGS);
	else if (attach_us > 0)
		printf("  %-26s %.1f us vs %.1f us re-registering\n",
		       "attach per ring", attach_us / NR_RINGS,
		       reg_us / NR_RINGS);
	printf("  %-26s %s\n", "data verified",
	       errors  ? "NO: errors above"
	       : bytes ? "yes"
		       : "not run");
	regbuf_pool_destroy(pool);
	return errors ? 1 : 0;
}
