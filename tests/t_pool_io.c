/* SPDX-License-Identifier: MIT */
/*
 * Per backing: create a pool, attach 8 liburing rings (some holding other
 * buffers of their own), WRITE_FIXED a distinct pattern from each ring to
 * an O_DIRECT file and READ_FIXED it back into another buffer of the pool,
 * verify every byte, detach in random order, destroy; VmPin, fds and
 * mappings return to their starting values.
 */
#include <liburing.h>
#include <sys/mman.h>

#include "harness.h"
#include "ring.h"

#include "regbuf/liburing.h"

#define NR_RINGS 8
#define IO_SIZE	 (256 * 1024)

static bool clone_ranges;

static int run_backing(int backing, uint64_t size, uint64_t page, int *skipped)
{
	unsigned roomy = 0;
	int method = 0;
	struct regbuf_pool_opts o;
	struct regbuf_pool *pool;
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	struct io_uring rings[NR_RINGS];
	unsigned first[NR_RINGS];
	struct t_held before;
	int fd, ret, order[NR_RINGS];
	static char own[2][4096] __attribute__((aligned(4096)));

	/* what RLIMIT_MEMLOCK leaves for the pool and its 8 rings (at least
	 * one page of the backing, and 2 IO_SIZE buffers). Without clone into
	 * ranges (before 6.13) the rings with buffers of their own in slots
	 * 0..1 cannot clone: they take the pool by registering it again, a
	 * charge each. */
	size = t_room_for(
		size, page > 2 * IO_SIZE ? page : 2 * IO_SIZE, page, 0,
		clone_ranges || t_charges(NR_RINGS) > 1 ? t_charges(NR_RINGS)
							: 1 + NR_RINGS / 2);
	if (!size) {
		printf("  %s: not tried, RLIMIT_MEMLOCK holds no %llu KiB "
		       "page for this pool and its rings (needs privilege)\n",
		       regbuf_backing_name(backing),
		       (unsigned long long)(page >> 10));
		return 0;
	}
	regbuf_pool_opts_init(&o);
	o.size = size;
	o.backing = backing;
	o.flags = REGBUF_POOL_STRICT;
	fd = t_open_direct((uint64_t)NR_RINGS * IO_SIZE);
	/* Rings first so that only the pool's own effect is measured. */
	for (int r = 0; r < NR_RINGS; r++) {
		CHECK_EQ(io_uring_queue_init(8, &rings[r], 0), 0);
		first[r] = 0;
		if (r % 2) {
			/* This ring has two buffers of its own in 0..1. */
			struct iovec iov[2] = {{own[0], 4096}, {own[1], 4096}};

			CHECK_EQ(io_uring_register_buffers(&rings[r], iov, 2),
				 0);
			first[r] = 2;
		}
	}
	before = t_held_now();
	ret = regbuf_pool_create(&o, &pool);
	if (ret == -ENOMEM) {
		printf("  %s: not available here (%s)\n",
		       regbuf_backing_name(backing), regbuf_last_error());
		CHECK_HELD_SAME(before);
		(*skipped)++;
		goto out_rings;
	}
	CHECK_EQ(ret, 0);
	CHECK_EQ(regbuf_pool_info(pool, &info), 0);
	CHECK_EQ(info.backing, backing);
	CHECK(info.flags & REGBUF_INFO_REGISTERED);
	CHECK(info.size >= size);
	/* Pinned and charged to VmPin, except where the kernel does not
	 * account a privileged ring at all (7.2+ with CAP_IPC_LOCK). */
	{
		struct regbuf_features f = REGBUF_STRUCT_INIT(f);
		struct regbuf_machine m = REGBUF_STRUCT_INIT(m);

		regbuf_features_get(&f);
		regbuf_machine_get(&m);
		if ((f.features & REGBUF_FEAT_PRIV_UNACCOUNTED) &&
		    m.cap_ipc_lock) {
			CHECK_EQ(info.memlock_charge, 0);
			CHECK_EQ(t_vmpin_kb() - before.vmpin, 0);
		} else {
			CHECK(t_vmpin_kb() - before.vmpin >=
			      (long)(size >> 10));
		}
	}

	for (int r = 0; r < NR_RINGS; r++) {
		ret = regbuf_pool_attach(pool, rings[r].ring_fd, first[r]);
		if (ret == -ENOSPC && first[r] && !clone_ranges) {
			/* Before 6.13 a ring's table cannot grow: attach says
			 * so and leaves the ring's own buffers alone. Give it
			 * room (empty slots after its own) and retry. */
			unsigned n = first[r] + info.nr_registered_slots;
			struct iovec *iov = calloc(n, sizeof(*iov));

			CHECK(iov);
			iov[0] = (struct iovec){own[0], 4096};
			iov[1] = (struct iovec){own[1], 4096};
			CHECK_EQ(io_uring_unregister_buffers(&rings[r]), 0);
			CHECK_EQ(io_uring_register_buffers(&rings[r], iov, n),
				 0);
			free(iov);
			ret = regbuf_pool_attach(pool, rings[r].ring_fd,
						 first[r]);
			roomy++;
		}
		CHECK(ret > 0);
		method = ret;
		/* Attaching again is refused, nothing changes. */
		CHECK_EQ(regbuf_pool_attach(pool, rings[r].ring_fd, first[r]),
			 -EEXIST);
	}
	for (int r = 0; r < NR_RINGS; r++) {
		struct regbuf_buf w, rd;

		CHECK_EQ(regbuf_alloc(pool, IO_SIZE, 0, &w), 0);
		CHECK_EQ(regbuf_alloc(pool, IO_SIZE, 0, &rd), 0);
		CHECK(w.slot >= 0 && rd.slot >= 0);
		t_fill(w.addr, IO_SIZE,
		       (uint64_t)r + 1 + (uint64_t)backing * 100);
		memset(rd.addr, 0, IO_SIZE);
		CHECK_EQ(t_write_fixed(&rings[r], fd, w.addr, IO_SIZE,
				       (uint64_t)r * IO_SIZE,
				       (int)first[r] + w.slot),
			 IO_SIZE);
		CHECK_EQ(t_read_fixed(&rings[r], fd, rd.addr, IO_SIZE,
				      (uint64_t)r * IO_SIZE,
				      (int)first[r] + rd.slot),
			 IO_SIZE);
		CHECK(t_verify(rd.addr, IO_SIZE,
			       (uint64_t)r + 1 + (uint64_t)backing * 100));
		CHECK_EQ(regbuf_free(pool, &w), 0);
		CHECK_EQ(regbuf_free(pool, &rd), 0);
		if (first[r]) {
			/* The ring's own buffers are still there. */
			CHECK_EQ(
				t_read_fixed(&rings[r], fd, own[1], 4096, 0, 1),
				4096);
		}
	}
	/* Detach in a shuffled order. */
	for (int r = 0; r < NR_RINGS; r++)
		order[r] = r;
	srand((unsigned)backing * 7 + 1);
	for (int r = NR_RINGS - 1; r > 0; r--) {
		int k = rand() % (r + 1), t = order[r];

		order[r] = order[k];
		order[k] = t;
	}
	for (int i = 0; i < NR_RINGS; i++) {
		CHECK_EQ(regbuf_pool_detach(pool, rings[order[i]].ring_fd), 0);
		CHECK_EQ(regbuf_pool_detach(pool, rings[order[i]].ring_fd),
			 -ENOENT);
	}
	regbuf_pool_destroy(pool);
	CHECK_HELD_SAME(before);
	if (roomy)
		printf("  %s: %u rings with their own small table refused "
		       "(-ENOSPC, no clone ranges here), attached after "
		       "registering room\n",
		       regbuf_backing_name(backing), roomy);
	printf("  %s: %u slot(s), 8 rings attached by %s, data verified\n",
	       regbuf_backing_name(backing), info.nr_slots,
	       regbuf_attach_method_name(method));
out_rings:
	/* Unregister first: ring teardown after close is asynchronous and
	 * would move VmPin under the next backing's measurement. */
	for (int r = 0; r < NR_RINGS; r++) {
		if (first[r])
			io_uring_unregister_buffers(&rings[r]);
		io_uring_queue_exit(&rings[r]);
	}
	close(fd);
	return 0;
}

/* Submit a chain of three and check that each piece moved data. */
static void reap_chain(struct io_uring *ring, int n)
{
	struct io_uring_cqe *cqe;

	CHECK_EQ(n, 3);
	CHECK_EQ(io_uring_submit_and_wait(ring, 3), 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(io_uring_wait_cqe(ring, &cqe), 0);
		CHECK(cqe->res > 0);
		io_uring_cqe_seen(ring, cqe);
	}
}

/* Four slots of S = 2 MiB of 4 KiB pages, or of what RLIMIT_MEMLOCK
 * leaves, attached to a new ring at first_slot: the pool, S in *slot. */
static struct regbuf_pool *four_slots(struct io_uring *ring,
				      unsigned first_slot, uint64_t *slot)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p;
	uint64_t size = t_fit_n(8 << 20, 2 << 20, 1 << 20, 0, t_charges(1));

	regbuf_pool_opts_init(&o);
	o.size = size;
	o.backing = REGBUF_BACKING_PAGES;
	o.max_slot_size = size / 4;
	CHECK_EQ(regbuf_pool_create(&o, &p), 0);
	CHECK_EQ(io_uring_queue_init(8, ring, 0), 0);
	CHECK(regbuf_pool_attach(p, ring->ring_fd, first_slot) > 0);
	*slot = size / 4;
	return p;
}

/* I/O over a range that spans three 2 MiB slots: linked SQEs, one per
 * slot, in order, every byte checked. */
static void span_io(void)
{
	struct regbuf_pool *p;
	struct io_uring ring;
	char *base;
	uint64_t S;
	size_t len;
	int fd, n, first_slot = 5;

	p = four_slots(&ring, (unsigned)first_slot, &S);
	len = 2 * S + 8192;
	base = regbuf_pool_base(p);
	fd = t_open_direct(8 << 20);
	t_fill(base + S / 2 - 4096, len, 77);
	n = regbuf_prep_rw_span(&ring, p, 1, fd, base + S / 2 - 4096, len,
				1 << 20, (unsigned)first_slot, 1);
	reap_chain(&ring, n);
	memset(base, 0, regbuf_pool_size(p));
	n = regbuf_prep_rw_span(&ring, p, 0, fd, base + S + 4096, len, 1 << 20,
				(unsigned)first_slot, 2);
	reap_chain(&ring, n);
	CHECK(t_verify(base + S + 4096, len, 77));
	/* bad input: nothing queued */
	CHECK_EQ(regbuf_prep_rw_span(&ring, p, 0, fd, base + S / 2 * 7, S, 0, 0,
				     3),
		 -EFAULT);
	CHECK_EQ(regbuf_prep_rw_span(&ring, p, 0, fd, base, 0, 0, 0, 3),
		 -EINVAL);
	CHECK_EQ(io_uring_sq_ready(&ring), 0u);
	close(fd);
	regbuf_pool_detach(p, ring.ring_fd);
	io_uring_queue_exit(&ring);
	regbuf_pool_destroy(p);
	printf("  a %llu KiB range over three slots: 3 linked fixed SQEs each "
	       "way, verified\n",
	       (unsigned long long)(len >> 10));
}

/* Run the one SQE regbuf_prep_rw_iov() prepared; its result. */
static int run_iov(struct io_uring *ring, const struct regbuf_pool *p,
		   int write, int fd, const struct iovec *iov, unsigned nr,
		   int vec, int want_fixed)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	CHECK_EQ(
		regbuf_prep_rw_iov(sqe, p, write, fd, iov, nr, 1 << 20, 3, vec),
		want_fixed);
	return t_run_one(ring);
}

/* Vectored I/O into pool memory: fixed when every iovec lies in one
 * registered slot, plain otherwise, data checked each way; the fixed SQE
 * really uses the ring's table (it fails once the pool is detached). */
static void iov_io(bool vec)
{
	struct regbuf_pool_opts o;
	struct regbuf_pool *p, *plain;
	struct io_uring ring;
	uint64_t S, size;
	char *base, *heap;
	int fd;

	p = four_slots(&ring, 3, &S);
	size = 4 * S;
	base = regbuf_pool_base(p);
	fd = t_open_direct(8 << 20);
	t_fill(base, 65536, 5);
	struct iovec one = {base, 65536};
	CHECK_EQ(run_iov(&ring, p, 1, fd, &one, 1, vec, 1), 65536);
	memset(base, 0, 65536);
	/* two pieces of slot 0, the file's halves in swapped order */
	static char ref[65536];
	t_fill(ref, sizeof(ref), 5);
	struct iovec two[2] = {{base + 65536, 32768}, {base, 32768}};
	CHECK_EQ(run_iov(&ring, p, 0, fd, two, 2, vec, vec ? 1 : 0), 65536);
	CHECK(!memcmp(base + 65536, ref, 32768));
	CHECK(!memcmp(base, ref + 32768, 32768));
	/* across slots 0 and 1: plain readv, same data */
	memset(base, 0, 2 * S);
	struct iovec cross[2] = {{base + S - 8192, 8192},
				 {base + S + 8192, 57344}};
	CHECK_EQ(regbuf_pool_iov_slot(p, cross, 2), -EXDEV);
	CHECK_EQ(run_iov(&ring, p, 0, fd, cross, 2, vec, 0), 65536);
	CHECK(!memcmp(base + S - 8192, ref, 8192));
	CHECK(!memcmp(base + S + 8192, ref + 8192, 57344));
	/* outside the pool: plain */
	CHECK_EQ(posix_memalign((void **)&heap, 4096, 65536), 0);
	struct iovec out = {heap, 65536};
	regbuf_pool_slot_of(NULL, NULL, NULL); /* sets a message */
	CHECK_EQ(regbuf_pool_iov_slot(p, &out, 1), -EFAULT);
	/* expected answers on the I/O path format nothing */
	CHECK(strstr(regbuf_last_error(), "regbuf_pool_slot_of"));
	CHECK_EQ(run_iov(&ring, p, 0, fd, &out, 1, vec, 0), 65536);
	CHECK(t_verify(heap, 65536, 5));
	free(heap);
	/* lookups and bad input */
	struct iovec in2 = {base + 2 * S + 100, 4096}, empty = {base, 0};
	struct iovec tail = {base + size - 4096, 8192};
	CHECK_EQ(regbuf_pool_iov_slot(p, &in2, 1), 2);
	CHECK_EQ(regbuf_pool_iov_slot(p, &empty, 1), -EFAULT);
	CHECK_EQ(regbuf_pool_iov_slot(p, &tail, 1), -EFAULT);
	CHECK_EQ(regbuf_pool_iov_slot(p, &in2, 0), -EINVAL);
	CHECK_EQ(regbuf_pool_iov_slot(NULL, &in2, 1), -EINVAL);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	CHECK_EQ(regbuf_prep_rw_iov(sqe, p, 0, fd, NULL, 1, 0, 0, vec),
		 -EINVAL);
	CHECK_EQ(regbuf_prep_rw_iov(sqe, p, 0, fd, &in2, 0, 0, 0, vec),
		 -EINVAL);
	io_uring_prep_nop(sqe); /* the SQE is still ours: use it */
	CHECK_EQ(t_run_one(&ring), 0);
	/* the fixed SQE names the ring's slot: detached, it fails */
	CHECK_EQ(regbuf_pool_detach(p, ring.ring_fd), 0);
	CHECK(run_iov(&ring, p, 0, fd, &one, 1, vec, 1) < 0);
	/* memory that is not registered: -EXDEV, plain I/O */
	regbuf_pool_opts_init(&o);
	o.backing = REGBUF_BACKING_PAGES;
	o.flags = REGBUF_POOL_NO_REGISTER;
	o.size = 2 << 20;
	CHECK_EQ(regbuf_pool_create(&o, &plain), 0);
	struct iovec pl = {regbuf_pool_base(plain), 65536};
	CHECK_EQ(regbuf_pool_iov_slot(plain, &pl, 1), -EXDEV);
	CHECK_EQ(run_iov(&ring, plain, 0, fd, &pl, 1, vec, 0), 65536);
	CHECK(t_verify(pl.iov_base, 65536, 5));
	regbuf_pool_destroy(plain);
	close(fd);
	io_uring_queue_exit(&ring);
	regbuf_pool_destroy(p);
	printf("  iovecs: READ/WRITE_FIXED for one, %s for two in one slot, "
	       "plain across slots, outside the pool and unregistered; "
	       "verified\n",
	       vec ? "READV_FIXED" : "READV (vec_fixed 0)");
}

int main(void)
{
	int skipped = 0, tried = 0;

	struct regbuf_features f = {.struct_size = sizeof(f)};

	if (!t_io_uring_ok())
		t_skip("io_uring is not available here");
	regbuf_features_get(&f);
	clone_ranges = f.features & REGBUF_FEAT_CLONE_RANGES;
	tried++, run_backing(REGBUF_BACKING_PAGES, 32 << 20, 4096, &skipped);
	tried++, run_backing(REGBUF_BACKING_THP, 64 << 20, 2 << 20, &skipped);
	tried++, run_backing(REGBUF_BACKING_HUGE_2M, 64 << 20, 2 << 20,
			     &skipped);
	tried++,
		run_backing(REGBUF_BACKING_HUGE_1G, 1 << 30, 1 << 30, &skipped);
	if (skipped == tried)
		t_skip("no backing could be obtained");
	span_io();
	iov_io(false); /* as on a kernel without READV_FIXED */
	if (f.features & REGBUF_FEAT_RW_VEC_FIXED)
		iov_io(true);
	return 0;
}
