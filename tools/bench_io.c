/* SPDX-License-Identifier: MIT */
/*
 * regbuf bench io: CPU per O_DIRECT read by kind of buffer memory, in one
 * run on one target. CPU per I/O = (user + system time) / I/Os, as for fio.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "bench.h"

#define FILE_SIZE (512ULL << 20)

enum { POOL_FIXED, FIXED_4K, PLAIN_HUGE, PLAIN_4K, NR_MODES };
static const char *const mode_names[NR_MODES] = {"pool_fixed", "fixed_4k",
						 "plain_huge", "plain_4k"};

struct target {
	char path[4096];
	char loopdev[64];
	uint64_t size;
	int fd;
};

struct result {
	double cpu_ns, iops, mib_s;
	uint64_t ios, checked, bad;
};

/*
 * A loop device over the file open at backing, in t->loopdev, opened for
 * O_DIRECT reads in t->fd. It detaches itself when its last user closes it
 * (LO_FLAGS_AUTOCLEAR), so a bench that is killed leaves none behind.
 * Through the kernel's own interface: no losetup, which a minimal system
 * (busybox) may not have in a form that names the device it took.
 */
static int loop_attach(int backing, struct target *t)
{
	struct loop_info64 li;
	int ctl, lfd = -1, err = ENOENT;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	/* another process may take the free device first: try the next */
	for (int tries = 0; tries < 8 && lfd < 0; tries++) {
		int nr = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (nr < 0) {
			err = errno;
			break;
		}
		snprintf(t->loopdev, sizeof(t->loopdev), "/dev/loop%d", nr);
		lfd = open(t->loopdev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			err = errno;
			break;
		}
		if (ioctl(lfd, LOOP_SET_FD, backing)) {
			err = errno;
			close(lfd);
			lfd = -1;
			if (err != EBUSY)
				break;
		}
	}
	close(ctl);
	if (lfd < 0) {
		t->loopdev[0] = '\0';
		return -err;
	}
	memset(&li, 0, sizeof(li));
	li.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(lfd, LOOP_SET_STATUS64, &li))
		err = errno;
	else
		t->fd = open(t->loopdev, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (t->fd < 0) {
		if (!err)
			err = errno;
		ioctl(lfd, LOOP_CLR_FD, 0);
	}
	close(lfd); /* with t->fd open, the device stays */
	if (t->fd < 0) {
		t->loopdev[0] = '\0';
		return -err;
	}
	return 0;
}

/* A tmpfs to hold the loop device's file: /dev/shm, or /tmp if it is one. */
static const char *tmpfs_dir(void)
{
	static const char *const dirs[] = {"/dev/shm", "/tmp"};
	struct statfs sf;

	for (unsigned i = 0; i < 2; i++)
		if (!statfs(dirs[i], &sf) && sf.f_type == TMPFS_MAGIC &&
		    !access(dirs[i], W_OK))
			return dirs[i];
	return NULL;
}

static void fill_target(int fd, uint64_t size)
{
	enum { CH = 1 << 20 };
	uint64_t *buf = aligned_alloc(4096, CH);

	for (uint64_t off = 0; off < size; off += CH) {
		for (unsigned i = 0; i < CH / 8; i++)
			buf[i] = off + (uint64_t)i * 8;
		if (pwrite(fd, buf, CH, (off_t)off) != CH)
			break;
	}
	fsync(fd);
	free(buf);
}

static void close_target(struct target *t);

static int open_target(const struct opts *o, struct target *t)
{
	const char *shm;

	memset(t, 0, sizeof(*t));
	t->size = FILE_SIZE;
	t->fd = -1;
	if (strcmp(o->target, "auto")) {
		struct stat st;

		snprintf(t->path, sizeof(t->path), "%s", o->target);
		if (o->fill) {
			/* The pattern every mode checks its reads against. */
			int fd = open(t->path, O_WRONLY);

			if (fd < 0 || fstat(fd, &st))
				return -errno;
			fill_target(fd,
				    S_ISREG(st.st_mode)
					    ? (uint64_t)st.st_size
					    : (uint64_t)lseek(fd, 0, SEEK_END));
			close(fd);
		}
		t->fd = open(t->path, O_RDONLY | O_DIRECT);
		if (t->fd < 0 || fstat(t->fd, &st))
			return -errno;
		if (S_ISREG(st.st_mode))
			t->size = (uint64_t)st.st_size;
		else
			t->size = (uint64_t)lseek(t->fd, 0, SEEK_END);
		return t->size >= (1 << 20) ? 0 : -EINVAL;
	}
	shm = geteuid() == 0 ? tmpfs_dir() : NULL;
	if (shm) {
		int fd = scratch_file(shm, 0);

		if (fd >= 0) {
			fill_target(fd, t->size);
			loop_attach(fd, t);
			close(fd);
			if (t->fd >= 0)
				return 0;
		}
	}
	/* A file on a local file system. */
	{
		const char *dir = direct_dir(NULL);
		char self[64];
		int fd = takes_direct(dir) ? scratch_file(dir, 0) : -1;

		if (fd >= 0) {
			fill_target(fd, t->size);
			snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
			t->fd = open(self, O_RDONLY | O_DIRECT);
			close(fd);
			if (t->fd >= 0) {
				snprintf(t->path, sizeof(t->path),
					 "an unlinked file in %s", dir);
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* A loop device of open_target() goes with its descriptor (autoclear). */
static void close_target(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int run_mode(const struct opts *o, const struct target *t, int mode,
		    struct result *res)
{
	struct io_uring ring;
	struct regbuf_pool *pool = NULL;
	struct regbuf_buf *bufs = calloc((size_t)o->qd, sizeof(*bufs));
	uint64_t *offs = calloc((size_t)o->qd, sizeof(*offs));
	void *mem4k = NULL;
	uint64_t bs = (uint64_t)o->bs, nblocks = t->size / bs,
		 seed = 88172645463325252ULL;
	uint64_t ios = 0;
	double t0, c0, el;
	int ret = 0, fixed = mode == POOL_FIXED || mode == FIXED_4K;

	memset(res, 0, sizeof(*res));
	if (!bufs || !offs || io_uring_queue_init((unsigned)o->qd, &ring, 0))
		return -ENOMEM;
	if (mode == POOL_FIXED || mode == PLAIN_HUGE) {
		struct regbuf_pool_opts po;

		struct regbuf_machine m = REGBUF_STRUCT_INIT(m);
		/* qd buffers of bs, with room to spare; where RLIMIT_MEMLOCK
		 * holds no more, just them (2 MiB pages are charged whole) */
		uint64_t need = (bs * (uint64_t)o->qd + (4ULL << 20) - 1) &
				~((2ULL << 20) - 1);

		regbuf_pool_opts_init(&po);
		po.numa_node = o->node;
		po.size = bs * (uint64_t)o->qd * 2 > (4ULL << 20)
				  ? bs * (uint64_t)o->qd * 2
				  : 4ULL << 20;
		regbuf_machine_get(&m);
		if (m.memlock_room != UINT64_MAX &&
		    po.size + (512 << 10) > m.memlock_room && need < po.size)
			po.size = need;
		if (mode == PLAIN_HUGE)
			po.flags = REGBUF_POOL_NO_REGISTER;
		/* --backing: the pool's memory for both modes, so that the
		 * fixed and the plain read differ only in the registration */
		if (o->backing_set)
			po.backing = o->backing;
		ret = regbuf_pool_create(&po, &pool);
		if (!ret && mode == POOL_FIXED)
			ret = regbuf_pool_attach(pool, ring.ring_fd, 0) < 0
				      ? -EIO
				      : 0;
		for (int i = 0; !ret && i < o->qd; i++)
			ret = regbuf_alloc(pool, bs, 0, &bufs[i]);
	} else {
		ret = posix_memalign(&mem4k, 4096, bs * (uint64_t)o->qd)
			      ? -ENOMEM
			      : 0;
		if (!ret) {
			madvise(mem4k, bs * (uint64_t)o->qd, MADV_NOHUGEPAGE);
			memset(mem4k, 0, bs * (uint64_t)o->qd);
		}
		for (int i = 0; !ret && i < o->qd; i++) {
			bufs[i].addr = (char *)mem4k + (uint64_t)i * bs;
			bufs[i].len = bs;
			bufs[i].slot = i;
		}
		if (!ret && mode == FIXED_4K) {
			unsigned qd = (unsigned)o->qd & 4095;
			struct iovec *iov = calloc(qd, sizeof(*iov));

			if (!iov) {
				ret = -ENOMEM;
				goto out;
			}
			for (unsigned i = 0; i < qd; i++) {
				iov[i].iov_base = bufs[i].addr;
				iov[i].iov_len = bs;
			}
			ret = io_uring_register_buffers(&ring, iov,
							(unsigned)o->qd);
			free(iov);
		}
	}
	if (ret)
		goto out;

	c0 = cpu_ms();
	t0 = now_ms();
	for (int i = 0; i < o->qd; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		offs[i] = (rnd(&seed) % nblocks) * bs;
		if (fixed)
			io_uring_prep_read_fixed(sqe, t->fd, bufs[i].addr,
						 (unsigned)bs, offs[i],
						 bufs[i].slot);
		else
			io_uring_prep_read(sqe, t->fd, bufs[i].addr,
					   (unsigned)bs, offs[i]);
		sqe->user_data = (uint64_t)i;
	}
	while ((el = now_ms() - t0) < o->seconds * 1e3) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		io_uring_submit_and_wait(&ring, 1);
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			int i = (int)cqe->user_data;
			struct io_uring_sqe *sqe;

			seen++;
			if (cqe->res != (int)bs) {
				res->bad++;
			} else if ((ios & 15) == 0) {
				const uint64_t *q = bufs[i].addr;

				res->checked++;
				for (uint64_t k = 0; k < bs / 8; k += 512)
					if (q[k] != offs[i] + k * 8) {
						res->bad++;
						break;
					}
			}
			ios++;
			offs[i] = (rnd(&seed) % nblocks) * bs;
			sqe = io_uring_get_sqe(&ring);
			if (fixed)
				io_uring_prep_read_fixed(
					sqe, t->fd, bufs[i].addr, (unsigned)bs,
					offs[i], bufs[i].slot);
			else
				io_uring_prep_read(sqe, t->fd, bufs[i].addr,
						   (unsigned)bs, offs[i]);
			sqe->user_data = (uint64_t)i;
		}
		io_uring_cq_advance(&ring, seen);
	}
	{
		double cpu = cpu_ms() - c0;

		res->ios = ios;
		res->cpu_ns = ios ? cpu * 1e6 / (double)ios : 0;
		res->iops = (double)ios / (el / 1e3);
		res->mib_s = res->iops * (double)bs / (1 << 20);
	}
	/* Drain what is in flight (the last refills are still unsubmitted). */
	{
		struct io_uring_cqe *cqe;

		io_uring_submit(&ring);
		for (int i = 0; i < o->qd; i++) {
			if (io_uring_wait_cqe(&ring, &cqe))
				break;
			io_uring_cqe_seen(&ring, cqe);
		}
	}
out:
	if (pool) {
		for (int i = 0; i < o->qd; i++)
			if (bufs[i].addr)
				regbuf_free(pool, &bufs[i]);
		regbuf_pool_detach(pool, ring.ring_fd);
	}
	io_uring_queue_exit(&ring);
	if (pool)
		regbuf_pool_destroy(pool);
	free(mem4k);
	free(bufs);
	free(offs);
	return ret;
}

int bench_io(struct opts *o)
{
	struct target t;
	struct result res[NR_MODES];
	const char *pool_mem =
		o->backing_set ? regbuf_backing_name(o->backing) : "auto";
	int ret = open_target(o, &t);
	uint64_t bad = 0;

	if (ret) {
		fprintf(stderr, "bench io: no O_DIRECT target (%s)\n",
			strerror(-ret));
		return 1;
	}
	if ((uint64_t)o->bs > t.size / 4 || o->bs % 512) {
		close_target(&t);
		return usage_error(
			"bench",
			"--bs must be a multiple of 512 well below the target size");
	}
	for (int m = 0; m < NR_MODES; m++) {
		double v[64], c[64], mb[64];
		int r;

		for (r = 0; r < o->repeat; r++) {
			ret = run_mode(o, &t, m, &res[m]);
			if (ret) {
				fprintf(stderr, "bench io: %s: %s (%s)\n",
					mode_names[m], strerror(-ret),
					regbuf_last_error());
				close_target(&t);
				return 1;
			}
			v[r] = res[m].iops;
			c[r] = res[m].cpu_ns;
			mb[r] = res[m].mib_s;
			bad += res[m].bad;
		}
		res[m].iops = median(v, r);
		res[m].cpu_ns = median(c, r);
		res[m].mib_s = median(mb, r);
	}
	if (o->json) {
		struct json j;

		json_begin(&j, stdout);
		json_str(&j, "bench", "io");
		json_str(&j, "target",
			 t.loopdev[0]			? "loop-on-tmpfs"
			 : !strncmp(t.path, "/dev/", 5) ? "block-device"
							: "file");
		json_int(&j, "bs", o->bs);
		json_int(&j, "qd", o->qd);
		json_str(&j, "pool_backing", pool_mem);
		json_num(&j, "seconds", o->seconds);
		json_obj(&j, "modes");
		for (int m = 0; m < NR_MODES; m++) {
			json_obj(&j, mode_names[m]);
			json_num(&j, "cpu_ns_per_io", res[m].cpu_ns);
			json_num(&j, "iops", res[m].iops);
			json_num(&j, "mib_s", res[m].mib_s);
			json_u64(&j, "checked", res[m].checked);
			json_close(&j, '}');
		}
		json_close(&j, '}');
		json_num(&j, "pool_fixed_vs_plain_4k",
			 res[PLAIN_4K].cpu_ns > 0
				 ? res[POOL_FIXED].cpu_ns / res[PLAIN_4K].cpu_ns
				 : 0);
		json_bool(&j, "verified", bad == 0);
		json_int(&j, "repeat", o->repeat);
		json_end(&j);
	} else {
		char a[32];

		printf("O_DIRECT random reads, bs %s, qd %d, %s, %.0f s per mode (median of %d), pool memory %s\n",
		       rb_fmt_size((uint64_t)o->bs, a, sizeof(a)), o->qd,
		       t.loopdev[0] ? "loop device on tmpfs" : t.path,
		       o->seconds, o->repeat, pool_mem);
		printf("  %-12s %12s %10s %10s %8s\n", "mode", "CPU ns/IO",
		       "IOPS", "MiB/s", "vs 4k");
		for (int m = 0; m < NR_MODES; m++)
			printf("  %-12s %12.0f %10.0f %10.1f %7.2fx\n",
			       mode_names[m], res[m].cpu_ns, res[m].iops,
			       res[m].mib_s,
			       res[PLAIN_4K].cpu_ns > 0
				       ? res[m].cpu_ns / res[PLAIN_4K].cpu_ns
				       : 0);
		printf("  data: %s\n", bad ? "MISMATCH" : "verified (sampled)");
	}
	close_target(&t);
	return bad ? 1 : 0;
}
