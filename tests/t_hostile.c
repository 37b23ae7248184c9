/* SPDX-License-Identifier: MIT */
/*
 * Hostile situations on the real kernel:
 *  - hugepages run out half-way through a pool: AUTO falls back for the
 *    rest and says so, STRICT fails and leaves nothing behind;
 *  - a pool destroyed while a fixed read into it is still in flight: the
 *    kernel keeps the old pages pinned, the read lands there, memory the
 *    process maps afterwards is untouched;
 *  - rings closed while attached, then detach and destroy;
 *  - fork() with an attached pool: by default the child does not inherit
 *    the pool (no eager copy of pinned pages), with FORK_COPY it gets a
 *    private copy; either way the parent's fixed I/O still lands in the
 *    parent's memory.
 */
#include <liburing.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "harness.h"
#include "ring.h"

#define M2 (2ULL << 20)

/* Free 2 MiB pages once the count stops moving: a ring closed by an
 * earlier program may still be releasing pages (asynchronous teardown). */
static uint64_t free_settled(void)
{
	uint64_t a = t_free_huge("2048"), b;

	for (int i = 0; i < 60; i++) {
		usleep(50000);
		b = t_free_huge("2048");
		if (a == b && i >= 3)
			break;
		a = b;
	}
	return a;
}

/* Wait (up to 2 s) for the free count to reach want. */
static uint64_t free_reaches(uint64_t want)
{
	uint64_t v = t_free_huge("2048");

	for (int i = 0; i < 200 && v != want; i++) {
		usleep(10000);
		v = t_free_huge("2048");
	}
	return v;
}

#define NHOLD 16

/* Free 2 MiB pages left for hugepages_run_out's pool of twice as many:
 * 8, or 1 where RLIMIT_MEMLOCK is enforced (a 4 MiB pool). */
static uint64_t leave = 8;

static void release(void **held, size_t *len)
{
	for (int k = 0; k < NHOLD; k++)
		if (held[k])
			munmap(held[k], len[k]);
}

static void hugepages_run_out(void)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p = NULL;
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct regbuf_slot_info first = {.struct_size = sizeof(first)},
				last = {.struct_size = sizeof(last)};
	uint64_t free0 = free_settled();
	struct t_held before;
	void *held[NHOLD] = {0};
	size_t hold_len[NHOLD] = {0};

	if (t_memlock_enforced())
		leave = 1;
	if (free0 < 2 * leave) {
		printf("  hugepages run out: fewer than %llu free 2 MiB pages, "
		       "not tried\n",
		       (unsigned long long)(2 * leave));
		return;
	}
	/* Leave exactly 8 free pages (leave): a 32 MiB pool gets 16 MiB of
	 * them. Pages a closing ring releases meanwhile are taken as well. */
	for (int k = 0; k < NHOLD && t_free_huge("2048") > leave; k++) {
		hold_len[k] = (t_free_huge("2048") - leave) * M2;
		held[k] = mmap(NULL, hold_len[k], PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
				       MAP_POPULATE,
			       -1, 0);
		CHECK(held[k] != MAP_FAILED);
		usleep(20000);
	}
	if (t_free_huge("2048") != leave) {
		printf("  hugepages run out: the free count would not hold "
		       "still at %llu, not tried\n",
		       (unsigned long long)leave);
		release(held, hold_len);
		return;
	}
	before = t_held_now();

	regbuf_pool_opts_init(&o);
	o.size = 2 * leave * M2;
	o.backing = REGBUF_BACKING_HUGE_2M;
	o.flags = REGBUF_POOL_STRICT;
	CHECK_EQ(regbuf_pool_create(&o, &p), -ENOMEM);
	CHECK(p == NULL && regbuf_last_error()[0]);
	CHECK_HELD_SAME(before);
	CHECK_EQ(t_free_huge("2048"), leave);
	printf("  STRICT 2m with %llu of %llu pages free: %s\n",
	       (unsigned long long)leave, (unsigned long long)(2 * leave),
	       regbuf_last_error());

	o.backing = REGBUF_BACKING_AUTO;
	o.flags = 0;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(regbuf_pool_info(p, &info), 0);
	CHECK(info.nr_chunks >= 2);
	CHECK(info.notes[0]);
	CHECK_EQ(regbuf_pool_slot(p, 0, &first), 0);
	CHECK_EQ(regbuf_pool_slot(p, info.nr_slots - 1, &last), 0);
	CHECK_EQ(first.backing, REGBUF_BACKING_HUGE_2M);
	CHECK(last.backing != REGBUF_BACKING_HUGE_2M);
	CHECK_EQ(t_free_huge("2048"), 0u);
	printf("  AUTO with %llu pages free: %u chunks, first 2m, last %s; "
	       "notes: %.*s\n",
	       (unsigned long long)leave, info.nr_chunks,
	       regbuf_backing_name(last.backing),
	       (int)strcspn(info.notes, "\n"), info.notes);
	regbuf_pool_destroy(p);
	CHECK_EQ(free_reaches(leave), leave);
	release(held, hold_len);
	CHECK(free_reaches(free0) >= free0);
}

/* A pool of size bytes attached to a new ring. */
static struct regbuf_pool *attached_pool(uint64_t size, int backing,
					 unsigned flags, struct io_uring *ring)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;

	regbuf_pool_opts_init(&o);
	o.size = size;
	o.backing = backing;
	o.flags = flags;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(io_uring_queue_init(4, ring, 0), 0);
	CHECK(regbuf_pool_attach(p, ring->ring_fd, 0) > 0);
	return p;
}

static void destroy_in_flight(void)
{
	struct regbuf_pool *p;
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct regbuf_buf b;
	struct t_held start = t_held_now();
	static char data[65536];
	int pfd[2];
	char *again;

	p = attached_pool(4 << 20, REGBUF_BACKING_PAGES, 0, &ring);
	CHECK_EQ(pipe(pfd), 0);
	CHECK_EQ(regbuf_alloc(p, sizeof(data), 0, &b), 0);
	memset(b.addr, 'A', sizeof(data));
	/* A read from an empty pipe: in flight until we write. */
	io_uring_prep_read_fixed(io_uring_get_sqe(&ring), pfd[0], b.addr,
				 sizeof(data), 0, b.slot);
	CHECK_EQ(io_uring_submit(&ring), 1);
	CHECK_EQ(io_uring_peek_cqe(&ring, &cqe), -EAGAIN);
	regbuf_pool_destroy(p);
	/* Reuse the address space; the kernel must not write here. */
	again = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(again != MAP_FAILED);
	memset(again, 'N', 8 << 20);
	memset(data, 'D', sizeof(data));
	CHECK_EQ(write(pfd[1], data, sizeof(data)), (ssize_t)sizeof(data));
	CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
	CHECK(cqe->res > 0);
	io_uring_cqe_seen(&ring, cqe);
	for (size_t i = 0; i < (8 << 20); i++)
		if (again[i] != 'N') {
			fprintf(stderr, "byte %zu of new memory changed\n", i);
			exit(1);
		}
	munmap(again, 8 << 20);
	io_uring_queue_exit(&ring);
	close(pfd[0]);
	close(pfd[1]);
	CHECK_HELD_SAME(start);
	printf("  pool destroyed under an in-flight READ_FIXED: it completed "
	       "into the old pinned pages, new memory untouched, nothing "
	       "held after\n");
}

static void rings_closed_first(void)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	struct io_uring r[3];
	struct t_held start = t_held_now();

	regbuf_pool_opts_init(&o);
	o.size = t_fit_n(4 << 20, 2 << 20, 2 << 20, 0, t_charges(3));
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(io_uring_queue_init(2, &r[i], 0), 0);
		CHECK(regbuf_pool_attach(p, r[i].ring_fd, 0) > 0);
	}
	io_uring_queue_exit(&r[0]);
	io_uring_queue_exit(&r[1]);
	/* detach of a closed ring forgets it */
	CHECK_EQ(regbuf_pool_detach(p, r[0].ring_fd), 0);
	regbuf_pool_destroy(p); /* r[1] closed, r[2] open: emptied */
	{
		int ret = io_uring_unregister_buffers(&r[2]);

		CHECK(ret == 0 || ret == -ENXIO);
	}
	io_uring_queue_exit(&r[2]);
	CHECK_HELD_SAME(start);
	printf("  rings closed while attached: detach and destroy clean up\n");
}

static void fork_with(unsigned flags)
{
	struct regbuf_pool *p;
	struct io_uring ring;
	struct regbuf_buf b;
	uint64_t free0;
	char *base;
	int fd, st;
	pid_t pid;
	size_t size = t_fit_n(16 << 20, 2 << 20, 2 << 20, 0, t_charges(1));

	p = attached_pool(size, REGBUF_BACKING_AUTO, flags, &ring);
	base = regbuf_pool_base(p);
	memset(base, 'P', size);
	fd = t_open_direct(1 << 20);
	CHECK_EQ(regbuf_alloc(p, 1 << 20, 0, &b), 0);
	t_fill(b.addr, 1 << 20, 5);
	CHECK_EQ(t_write_fixed(&ring, fd, b.addr, 1 << 20, 0, b.slot), 1 << 20);
	memset(b.addr, 'P', 1 << 20);
	free0 = free_settled();
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		/* No eager copy of pinned hugepages unless asked for. */
		if (!(flags & REGBUF_POOL_FORK_COPY))
			_exit(t_free_huge("2048") < free0 ? 3
			      : madvise(base, 4096, MADV_NORMAL) == 0
				      ? 4 /* the mapping was inherited */
				      : 0);
		if (base[0] != 'P')
			_exit(5);
		memset(base, 'C', size); /* the child's own copy */
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "fork child: status 0x%x\n", st);
		exit(1);
	}
	/* The parent's memory is its own, and fixed I/O still lands in it. */
	CHECK_EQ(base[size - 1], 'P');
	CHECK_EQ(t_read_fixed(&ring, fd, b.addr, 1 << 20, 0, b.slot), 1 << 20);
	CHECK(t_verify(b.addr, 1 << 20, 5));
	regbuf_free(p, &b);
	close(fd);
	regbuf_pool_detach(p, ring.ring_fd);
	io_uring_queue_exit(&ring);
	regbuf_pool_destroy(p);
	printf("  fork with an attached pool%s: %s; the parent's fixed read "
	       "lands in the parent's memory\n",
	       flags ? " (FORK_COPY)" : "",
	       flags ? "the child wrote its private copy"
		     : "the child has no mapping and no copied hugepages");
}

int main(void)
{
	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	hugepages_run_out();
	destroy_in_flight();
	rings_closed_first();
	fork_with(0);
	fork_with(REGBUF_POOL_FORK_COPY);
	return 0;
}
