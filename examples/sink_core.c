/* SPDX-License-Identifier: MIT */
/*
 * sink's server: multishot receives into a regbuf managed buffer ring whose
 * buffers live in a registered pool, each received buffer written to its
 * connection's file with WRITE_FIXED from the same memory (or, with copy,
 * copied first and written with a plain WRITE), then checked byte for
 * byte. See sink.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "regbuf.h"
#include "regbuf/liburing.h"
#include "sink.h"

#define UD_RECV	 (1ULL << 62)
#define UD_WRITE (2ULL << 62)
#define UD_MASK	 ((1ULL << 62) - 1)

/* The stream of connection id: 8-byte words from position. */
static uint64_t word_at(uint64_t id, uint64_t idx)
{
	uint64_t z = (id << 40) ^ idx ^ 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void stream_fill(uint64_t id, uint64_t pos, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint64_t w = word_at(id, (pos + i) / 8);
		size_t k = (pos + i) % 8, n = 8 - k < len - i ? 8 - k : len - i;

		memcpy(p + i, (uint8_t *)&w + k, n);
		i += n;
	}
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct client {
	pthread_t tid;
	uint16_t port;
	uint64_t id, limit, sent;
	uint64_t deadline; /* CLOCK_MONOTONIC ns, when limit is 0 */
	int err;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(c->port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	static __thread uint8_t chunk[64 * 1024];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    send(fd, &c->id, 8, MSG_NOSIGNAL) != 8) {
		c->err = errno;
		goto out;
	}
	while (c->limit ? c->sent < c->limit
			: now_ns(CLOCK_MONOTONIC) < c->deadline) {
		size_t n = sizeof(chunk);
		ssize_t w;

		if (c->limit && c->limit - c->sent < n)
			n = (size_t)(c->limit - c->sent);
		stream_fill(c->id, c->sent, chunk, n);
		w = send(fd, chunk, n, MSG_NOSIGNAL);
		if (w <= 0) {
			c->err = errno;
			break;
		}
		c->sent += (uint64_t)w;
	}
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

struct conn {
	int sock, file;
	uint64_t id, pos;
	bool eof, armed;
};

struct write_op {
	struct regbuf_buf buf;
	void *copy;
	int conn;
	int next_free;
};

struct sink {
	struct io_uring ring;
	struct regbuf_pool *pool;
	struct regbuf_bufring *br;
	struct conn *c;
	int nconns, open_conns, unarmed;
	struct write_op *w;
	int nw, free_w, inflight;
	bool copy;
	struct sink_result *res;
};

static struct io_uring_sqe *sqe_get(struct sink *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

	if (!sqe) {
		io_uring_submit(&s->ring);
		sqe = io_uring_get_sqe(&s->ring);
	}
	return sqe;
}

static int arm(struct sink *s, int i)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	if (!sqe)
		return -EBUSY;
	regbuf_prep_recv_select(sqe, s->c[i].sock, s->br, 0, 1);
	io_uring_sqe_set_data64(sqe, UD_RECV | (uint64_t)i);
	s->c[i].armed = true;
	return 0;
}

static int write_slot(struct sink *s)
{
	int i = s->free_w;

	if (i < 0) {
		int n = s->nw ? s->nw * 2 : 256;
		struct write_op *nw = realloc(s->w, (size_t)n * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		for (int k = s->nw; k < n; k++)
			nw[k].next_free = k + 1 < n ? k + 1 : -1;
		s->w = nw;
		s->free_w = i = s->nw;
		s->nw = n;
	}
	s->free_w = s->w[i].next_free;
	return i;
}

/* One piece received on connection ci: write it where it belongs. */
static int on_piece(struct sink *s, int ci, struct regbuf_buf *b)
{
	struct conn *c = &s->c[ci];
	struct io_uring_sqe *sqe;
	int wi = write_slot(s);

	if (wi < 0)
		return wi;
	s->w[wi].conn = ci;
	s->w[wi].buf = *b;
	s->w[wi].copy = NULL;
	sqe = sqe_get(s);
	if (!sqe)
		return -EBUSY;
	if (s->copy) {
		void *cp = malloc(b->len ? b->len : 1);

		if (!cp)
			return -ENOMEM;
		memcpy(cp, b->addr, b->len);
		s->w[wi].copy = cp;
		io_uring_prep_write(sqe, c->file, cp, (unsigned)b->len, c->pos);
		regbuf_bufring_recycle(s->br, b);
	} else {
		regbuf_prep_write(sqe, c->file, b, 0, (unsigned)b->len, c->pos,
				  0);
	}
	io_uring_sqe_set_data64(sqe, UD_WRITE | (uint64_t)wi);
	c->pos += b->len;
	s->res->bytes += b->len;
	s->inflight++;
	return 0;
}

static int on_cqe(struct sink *s, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	int idx = (int)(ud & UD_MASK), ret;

	if ((ud & ~UD_MASK) == UD_WRITE) {
		struct write_op *w = &s->w[idx];

		if (cqe->res != (int)w->buf.len) {
			fprintf(stderr, "sink: write returned %d for %zu\n",
				cqe->res, w->buf.len);
			return cqe->res < 0 ? cqe->res : -EIO;
		}
		if (w->copy)
			free(w->copy);
		else if ((ret = regbuf_bufring_recycle(s->br, &w->buf)))
			return ret;
		w->next_free = s->free_w;
		s->free_w = idx;
		s->inflight--;
		return 0;
	}
	{
		struct regbuf_buf b[1];
		struct conn *c = &s->c[idx];
		int n;

		s->res->receives++;
		n = regbuf_bufring_take(s->br, cqe->res, cqe->flags, b, 1);
		if (n == 1 && (ret = on_piece(s, idx, b)))
			return ret;
		if (n < 0 && n != -ENOBUFS) {
			fprintf(stderr, "sink: receive: %s\n", strerror(-n));
			return n;
		}
		if (!(cqe->flags & IORING_CQE_F_MORE)) {
			c->armed = false;
			if (cqe->res == 0) {
				c->eof = true;
				s->open_conns--;
			} else {
				s->unarmed++;
			}
		}
	}
	return 0;
}

static int accept_all(int lfd, struct sink *s)
{
	for (int i = 0; i < s->nconns; i++) {
		int fd = accept(lfd, NULL, NULL);
		uint64_t id;

		if (fd < 0)
			return -errno;
		if (read(fd, &id, 8) != 8 || id >= (uint64_t)s->nconns) {
			close(fd);
			return -EPROTO;
		}
		s->c[id].sock = fd;
		s->c[id].id = id;
	}
	return 0;
}

static bool verify_file(int fd, uint64_t id, uint64_t len)
{
	static uint8_t got[1 << 20], want[1 << 20];

	for (uint64_t pos = 0; pos < len;) {
		size_t n = len - pos < sizeof(got) ? (size_t)(len - pos)
						   : sizeof(got);

		if (pread(fd, got, n, (off_t)pos) != (ssize_t)n)
			return false;
		stream_fill(id, pos, want, n);
		if (memcmp(got, want, n))
			return false;
		pos += n;
	}
	return true;
}

static const char *sink_dir(const char *dir)
{
	struct statfs s;

	if (dir)
		return dir;
	/* tmpfs: the disk is not what is measured here */
	if (!statfs("/dev/shm", &s) && !access("/dev/shm", W_OK))
		return "/dev/shm";
	if (getenv("TMPDIR") && !access(getenv("TMPDIR"), W_OK))
		return getenv("TMPDIR");
	return !access("/tmp", W_OK) ? "/tmp" : ".";
}

static int sink_serve(struct sink *s)
{
	struct regbuf_bufring_stats st = {.struct_size = sizeof(st)};
	int ret = 0;

	for (int i = 0; i < s->nconns && !ret; i++)
		ret = arm(s, i);
	while (!ret && (s->open_conns || s->inflight)) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		ret = io_uring_submit_and_wait(&s->ring, 1);
		if (ret < 0)
			break;
		ret = 0;
		io_uring_for_each_cqe(&s->ring, head, cqe)
		{
			seen++;
			if ((ret = on_cqe(s, cqe)))
				break;
		}
		io_uring_cq_advance(&s->ring, seen);
		/* Receives that ended dry: re-arm once buffers are back. */
		if (!ret && s->unarmed && !regbuf_bufring_stats(s->br, &st) &&
		    st.in_kernel)
			for (int i = 0; i < s->nconns && !ret; i++)
				if (!s->c[i].armed && !s->c[i].eof) {
					ret = arm(s, i);
					s->unarmed--;
					s->res->rearms++;
				}
	}
	if (!regbuf_bufring_stats(s->br, &st)) {
		s->res->dry = st.dry;
		s->res->inc_used = st.flags & REGBUF_BUFRING_INC;
	}
	return ret;
}

/* The pool of nbufs buffers: the buffers, and room for the ring entries. */
static uint64_t pool_bytes(uint32_t nbufs, uint32_t buf_size)
{
	return (uint64_t)nbufs * buf_size + (2 << 20);
}

uint32_t sink_fit_nbufs(uint32_t nbufs, uint32_t buf_size)
{
	struct regbuf_machine m = REGBUF_STRUCT_INIT(m);
	/* the rings' own memory counts too; a huge page is charged whole */
	uint64_t room, slack = 512 << 10, huge = 2 << 20;

	if (regbuf_machine_get(&m) || m.memlock_room == UINT64_MAX)
		return nbufs;
	room = m.memlock_room > slack ? m.memlock_room - slack : 0;
	/* without clone, attaching the ring registers the pool again */
	if (regbuf_attach_cost_class() == REGBUF_ATTACH_COST_REGISTER)
		room /= 2;
	while (nbufs > 1 &&
	       (pool_bytes(nbufs, buf_size) + huge - 1) / huge * huge > room)
		nbufs /= 2;
	return nbufs;
}

int sink_run(const struct sink_opts *o, struct sink_result *res)
{
	struct sink s = {.nconns = o->conns,
			 .open_conns = o->conns,
			 .free_w = -1,
			 .copy = o->copy,
			 .res = res};
	struct regbuf_pool_opts po;
	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE,
				    .cq_entries = 4096};
	struct client *cl;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int lfd = -1, ret;
	uint64_t t0, c0;

	memset(res, 0, sizeof(*res));
	s.c = calloc((size_t)o->conns, sizeof(*s.c));
	cl = calloc((size_t)o->conns, sizeof(*cl));
	if (!s.c || !cl)
		return -ENOMEM;
	for (int i = 0; i < o->conns; i++)
		s.c[i].sock = s.c[i].file = -1;
	ret = io_uring_queue_init_params(256, &s.ring, &p);
	if (ret)
		goto out_free;
	regbuf_pool_opts_init(&po);
	po.size = pool_bytes(o->nbufs, o->buf_size);
	ret = regbuf_pool_create(&po, &s.pool);
	if (ret)
		goto out_ring;
	ret = regbuf_pool_attach(s.pool, s.ring.ring_fd, 0);
	if (ret < 0)
		goto out_pool;
	ret = regbuf_bufring_create(s.pool, s.ring.ring_fd, 1, o->nbufs,
				    o->buf_size,
				    o->inc ? REGBUF_BUFRING_INC : 0, &s.br);
	if (ret)
		goto out_pool;
	for (int i = 0; i < o->conns; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/regbuf-sink-XXXXXX",
			 sink_dir(o->dir));
		s.c[i].file = mkstemp(path);
		if (s.c[i].file < 0) {
			ret = -errno;
			goto out_files;
		}
		unlink(path);
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, o->conns) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen)) {
		ret = -errno;
		goto out_files;
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	for (int i = 0; i < o->conns; i++) {
		cl[i] = (struct client){
			.port = ntohs(a.sin_port),
			.id = (uint64_t)i,
			.limit = o->mib << 20,
			.deadline =
				o->mib ? 0 : t0 + (uint64_t)(o->seconds * 1e9)};
		if (pthread_create(&cl[i].tid, NULL, client_main, &cl[i])) {
			ret = -EAGAIN;
			close(lfd);
			lfd = -1;
			for (int k = 0; k < i; k++)
				pthread_join(cl[k].tid, NULL);
			goto out_files;
		}
	}
	ret = accept_all(lfd, &s);
	if (!ret)
		ret = sink_serve(&s);
	res->wall_ns = now_ns(CLOCK_MONOTONIC) - t0;
	res->cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (ret) { /* unblock the clients: nobody reads any more */
		close(lfd);
		lfd = -1;
		for (int i = 0; i < o->conns; i++)
			if (s.c[i].sock >= 0)
				shutdown(s.c[i].sock, SHUT_RDWR);
	}
	for (int i = 0; i < o->conns; i++)
		pthread_join(cl[i].tid, NULL);
	if (!ret) {
		uint64_t sent = 0;

		res->verified = true;
		for (int i = 0; i < o->conns; i++) {
			sent += cl[i].sent;
			if (cl[i].err || s.c[i].pos != cl[i].sent ||
			    !verify_file(s.c[i].file, (uint64_t)i, s.c[i].pos))
				res->verified = false;
		}
		if (sent != res->bytes)
			res->verified = false;
	}
out_files:
	if (lfd >= 0)
		close(lfd);
	for (int i = 0; i < o->conns; i++) {
		if (s.c[i].sock >= 0)
			close(s.c[i].sock);
		if (s.c[i].file >= 0)
			close(s.c[i].file);
	}
	regbuf_bufring_destroy(s.br);
out_pool:
	regbuf_pool_destroy(s.pool);
out_ring:
	io_uring_queue_exit(&s.ring);
out_free:
	free(s.w);
	free(s.c);
	free(cl);
	return ret < 0 ? ret : 0;
}
