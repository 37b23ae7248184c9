/* SPDX-License-Identifier: MIT */
/*
 * tcopy: copy a file with O_DIRECT from N worker threads.
 *
 * One regbuf pool is shared by all workers; each worker has its own ring,
 * attached to the pool (a clone of its registration, not a new one), takes
 * chunks from a shared counter, allocates a buffer with regbuf_alloc(),
 * READ_FIXEDs the chunk into it, WRITE_FIXEDs it out and frees it. The data
 * is checksummed on the way through and the destination is read back and
 * checksummed again at the end. The pool is PARTIAL: where RLIMIT_MEMLOCK
 * is smaller than the pool, what fits is registered and buffers from the
 * rest do plain reads and writes (regbuf_prep_read() chooses).
 *
 *   tcopy [--threads N] [--bs B] [--qd Q] SRC DST
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "regbuf.h"
#include "regbuf/liburing.h"

struct copy {
	struct regbuf_pool *pool;
	int src, dst;
	uint64_t size, bs;
	unsigned qd;
	uint64_t next; /* next chunk index (atomic) */
	uint64_t sum;  /* checksum of what was read (atomic add) */
	int err;       /* first error (atomic) */
};

/* Order-independent checksum: a sum of mixed (word, offset) pairs. */
static uint64_t checksum(const void *p, size_t len, uint64_t off)
{
	const unsigned char *b = p;
	uint64_t s = 0;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0, z;

		memcpy(&w, b + i, len - i < 8 ? len - i : 8);
		z = (w ^ (off + i)) * 0x9e3779b97f4a7c15ULL;
		s += z ^ (z >> 29);
	}
	return s;
}

struct io {
	struct regbuf_buf buf;
	uint64_t off;
	unsigned len; /* bytes read */
	bool writing;
};

static void fail(struct copy *c, int err)
{
	int zero = 0;

	__atomic_compare_exchange_n(&c->err, &zero, err, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Queue the read of the next chunk into io; false when none is left. */
static bool start_read(struct copy *c, struct io_uring *ring, struct io *io)
{
	uint64_t k = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
	struct io_uring_sqe *sqe;
	int ret;

	if (k * c->bs >= c->size || __atomic_load_n(&c->err, __ATOMIC_RELAXED))
		return false;
	ret = regbuf_alloc(c->pool, c->bs, 4096, &io->buf);
	if (ret) {
		fail(c, ret);
		return false;
	}
	io->off = k * c->bs;
	io->writing = false;
	sqe = io_uring_get_sqe(ring);
	regbuf_prep_read(sqe, c->src, &io->buf, 0, (unsigned)c->bs, io->off, 0);
	io_uring_sqe_set_data(sqe, io);
	return true;
}

static void *worker(void *arg)
{
	struct copy *c = arg;
	struct io_uring ring;
	struct io *ios = calloc(c->qd, sizeof(*ios));
	unsigned inflight = 0;
	uint64_t sum = 0;
	int ret;

	if (!ios)
		return fail(c, -ENOMEM), NULL;
	ret = io_uring_queue_init(c->qd, &ring, 0);
	if (ret) {
		free(ios);
		return fail(c, ret), NULL;
	}
	ret = regbuf_pool_attach(c->pool, ring.ring_fd, 0);
	if (ret < 0)
		goto out;
	for (unsigned i = 0; i < c->qd && start_read(c, &ring, &ios[i]); i++)
		inflight++;
	while (inflight) {
		struct io_uring_cqe *cqe;
		struct io *io;
		int res;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			break;
		ret = io_uring_peek_cqe(&ring, &cqe);
		if (ret)
			break;
		io = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		if (res < 0 || (!io->writing && res == 0) ||
		    (io->writing && (unsigned)res < io->len)) {
			ret = res < 0 ? res : -EIO;
			break;
		}
		if (!io->writing) {
			/* O_DIRECT writes whole blocks: round the tail up
			 * (the file is cut to size at the end). */
			io->len = (unsigned)res;
			sum += checksum(io->buf.addr, io->len, io->off);
			io->len = (io->len + 4095) & ~4095u;
			io->writing = true;
			{
				struct io_uring_sqe *sqe =
					io_uring_get_sqe(&ring);

				regbuf_prep_write(sqe, c->dst, &io->buf, 0,
						  io->len, io->off, 0);
				io_uring_sqe_set_data(sqe, io);
			}
			continue;
		}
		regbuf_free(c->pool, &io->buf);
		memset(&io->buf, 0, sizeof(io->buf));
		if (!start_read(c, &ring, io))
			inflight--;
		ret = 0;
	}
	regbuf_pool_detach(c->pool, ring.ring_fd);
out:
	if (ret < 0)
		fail(c, ret);
	__atomic_fetch_add(&c->sum, sum, __ATOMIC_RELAXED);
	io_uring_queue_exit(&ring);
	for (unsigned i = 0; i < c->qd; i++)
		if (ios[i].buf.addr)
			regbuf_free(c->pool, &ios[i].buf);
	free(ios);
	return NULL;
}

static uint64_t file_checksum(const char *path, uint64_t size)
{
	static unsigned char b[1 << 20];
	uint64_t s = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	for (uint64_t off = 0; off < size;) {
		ssize_t n = pread(fd, b, sizeof(b), (off_t)off);

		if (n <= 0)
			break;
		s += checksum(b, (size_t)n, off);
		off += (uint64_t)n;
	}
	close(fd);
	return s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "1048576", "256K", "1M" */
static uint64_t parse_bytes(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	return *end ? 0 : v;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: tcopy [--threads N] [--bs B] [--qd Q] SRC DST\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct copy c = {.bs = 1 << 20, .qd = 8};
	struct regbuf_pool_opts po;
	struct regbuf_pool_info info = {.struct_size = sizeof(info)};
	const char *src = NULL, *dst = NULL;
	unsigned threads = 4;
	pthread_t *tid;
	struct stat st;
	double t0, t;
	uint64_t back;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--threads") && v)
			threads = (unsigned)atoi(v), i++;
		else if (!strcmp(argv[i], "--bs") && v)
			c.bs = parse_bytes(v), i++;
		else if (!strcmp(argv[i], "--qd") && v)
			c.qd = (unsigned)atoi(v), i++;
		else if (argv[i][0] == '-')
			return usage();
		else if (!src)
			src = argv[i];
		else if (!dst)
			dst = argv[i];
		else
			return usage();
	}
	if (!dst || !threads || threads > 256 || !c.qd || c.qd > 1024 ||
	    !c.bs || c.bs % 4096 || c.bs > (64 << 20))
		return usage();
	c.src = open(src, O_RDONLY | O_DIRECT);
	c.dst = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (c.src < 0 || c.dst < 0 || fstat(c.src, &st)) {
		fprintf(stderr, "tcopy: %s: %s\n", c.src < 0 ? src : dst,
			strerror(errno));
		return 1;
	}
	c.size = (uint64_t)st.st_size;
	regbuf_pool_opts_init(&po);
	po.size = (uint64_t)threads * c.qd * c.bs;
	po.flags = REGBUF_POOL_PARTIAL;
	if (regbuf_pool_create(&po, &c.pool)) {
		fprintf(stderr, "tcopy: %s\n", regbuf_last_error());
		return 1;
	}
	regbuf_pool_info(c.pool, &info);
	tid = calloc(threads, sizeof(*tid));
	t0 = now_s();
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker, &c)) {
			fail(&c, -EAGAIN);
			threads = i;
		}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	t = now_s() - t0;
	if (!c.err && ftruncate(c.dst, (off_t)c.size))
		c.err = -errno;
	close(c.src);
	close(c.dst);
	regbuf_pool_destroy(c.pool);
	free(tid);
	if (c.err) {
		fprintf(stderr, "tcopy: %s (%s)\n", strerror(-c.err),
			regbuf_last_error());
		return 1;
	}
	back = file_checksum(dst, c.size);
	printf("tcopy: %.1f MiB in %.3f s = %.1f MiB/s, %u threads x qd %u x "
	       "%llu KiB, %s pool, %llu of %llu MiB registered; checksum "
	       "%016llx %s\n",
	       c.size / 1048576.0, t, c.size / 1048576.0 / t, threads, c.qd,
	       (unsigned long long)(c.bs >> 10),
	       regbuf_backing_name(info.backing),
	       (unsigned long long)(info.registered_bytes >> 20),
	       (unsigned long long)(info.size >> 20), (unsigned long long)c.sum,
	       back == c.sum ? "matches the copy" : "DIFFERS in the copy");
	return back == c.sum ? 0 : 1;
}
