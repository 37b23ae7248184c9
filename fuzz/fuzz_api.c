/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the public API, against the real kernel: each
 * input is a program of byte-coded operations on up to two pools, two
 * real rings, a buffer ring, live buffers and stray fds: create with odd
 * options, alloc/free (valid, double, forged), attach/detach (real rings,
 * other fds, odd slots), bufring create/take/recycle with made-up
 * completions, info and slot queries. Invariants are checked as it goes;
 * everything is destroyed at the end of each input, so leaks show.
 */
#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define NPOOL 2
#define NBUF  64

struct in {
	const uint8_t *d;
	size_t n, pos;
};

static unsigned take8(struct in *in)
{
	return in->pos < in->n ? in->d[in->pos++] : 0;
}

static unsigned take16(struct in *in)
{
	return take8(in) | take8(in) << 8;
}

static uint32_t take32(struct in *in)
{
	return take16(in) | (uint32_t)take16(in) << 16;
}

static struct io_uring rings[2];
static int rings_ok;

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

struct buf {
	struct regbuf_buf b;
	int pool;
	int live;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size, 0};
	struct regbuf_pool *pools[NPOOL] = {0};
	struct buf bufs[NBUF];
	struct regbuf_bufring *br = NULL;
	int br_pool = -1;
	struct regbuf_buf taken[8];
	int ntaken = 0;

	if (!rings_ok) {
		rings_ok = 1;
		if (io_uring_queue_init(4, &rings[0], 0) ||
		    io_uring_queue_init(4, &rings[1], 0))
			rings_ok = -1;
	}
	if (rings_ok < 0)
		return 0;
	memset(bufs, 0, sizeof(bufs));
	for (unsigned steps = 0; steps < 64 && in.pos < in.n; steps++) {
		unsigned op = take8(&in) % 13, pi = take8(&in) % NPOOL;
		struct regbuf_pool *p = pools[pi];

		switch (op) {
		case 0: { /* create with odd options */
			struct regbuf_pool_opts o;
			struct regbuf_pool *np = NULL;
			unsigned f = take8(&in);

			regbuf_pool_opts_init(&o);
			o.size = (uint64_t)(take16(&in) % 2048 + 1) *
				 (f & 1 ? 4096 : 511); /* up to 8 MiB */
			o.backing = (int)(take8(&in) % 9) - 1;
			o.flags = (f >> 1) & 0x7f;
			o.max_slot_size = (uint64_t)(take8(&in) % 5) << 20;
			if (f & 0x80)
				o.reserved[1] = 1;
			o.populate_threads = take8(&in) % 3;
			if (o.flags & REGBUF_POOL_GROWABLE)
				o.max_size = o.size * (take8(&in) % 4 + 1);
			if (p)
				break;
			if (!regbuf_pool_create(&o, &np)) {
				check(np && regbuf_pool_size(np) >= o.size,
				      "pool smaller than asked");
				pools[pi] = np;
			}
			break;
		}
		case 1: /* destroy (after its buffers and bufring) */
			if (!p)
				break;
			if (br && br_pool == (int)pi) {
				regbuf_bufring_destroy(br);
				br = NULL;
				ntaken = 0;
			}
			for (int i = 0; i < NBUF; i++)
				if (bufs[i].live && bufs[i].pool == (int)pi)
					bufs[i].live = 0;
			regbuf_pool_destroy(p);
			pools[pi] = NULL;
			break;
		case 2: { /* alloc */
			unsigned k = take8(&in) % NBUF;
			size_t len =
				(size_t)take16(&in) * (take8(&in) % 40 + 1);
			size_t align = (size_t)1 << (take8(&in) % 24);
			struct regbuf_slot_info si = {.struct_size =
							      sizeof(si)};

			if (!p || bufs[k].live)
				break;
			if (take8(&in) == 3)
				align = 3000;
			if (regbuf_alloc(p, len, align, &bufs[k].b))
				break;
			bufs[k].pool = (int)pi;
			bufs[k].live = 1;
			check(((uintptr_t)bufs[k].b.addr & (align - 1)) == 0,
			      "misaligned");
			check((char *)bufs[k].b.addr >=
					      (char *)regbuf_pool_base(p) &&
				      (char *)bufs[k].b.addr + len <=
					      (char *)regbuf_pool_base(p) +
						      regbuf_pool_size(p),
			      "buffer outside its pool");
			if (bufs[k].b.slot >= 0) {
				int s = regbuf_pool_slot_of(p, bufs[k].b.addr,
							    &si);

				check(s == bufs[k].b.slot, "wrong slot");
				check((char *)bufs[k].b.addr + len <=
					      (char *)regbuf_pool_base(p) +
						      si.offset + si.len,
				      "buffer crosses its slot");
			}
			for (int i = 0; i < NBUF; i++) {
				char *a = bufs[i].b.addr, *b = bufs[k].b.addr;

				if (i == (int)k || !bufs[i].live ||
				    bufs[i].pool != (int)pi)
					continue;
				check(a + bufs[i].b.len <= b ||
					      b + bufs[k].b.len <= a,
				      "two live buffers overlap");
			}
			memset(bufs[k].b.addr, 0xa5, len);
			break;
		}
		case 3: { /* free: valid, double or forged */
			unsigned k = take8(&in) % NBUF, how = take8(&in) % 4;
			struct regbuf_buf copy = bufs[k].b;
			struct regbuf_pool *owner = pools[bufs[k].pool];

			if (!bufs[k].live || !owner)
				break;
			if (how == 1) {
				copy.cookie ^= (uint64_t)take32(&in) | 1;
				check(regbuf_free(owner, &copy) == -EINVAL,
				      "forged free accepted");
				break;
			}
			if (how == 2 && pools[!bufs[k].pool]) {
				check(regbuf_free(pools[!bufs[k].pool],
						  &copy) == -EINVAL,
				      "foreign free accepted");
				break;
			}
			check(regbuf_free(owner, &bufs[k].b) == 0,
			      "valid free refused");
			bufs[k].live = 0;
			if (how == 3)
				check(regbuf_free(owner, &copy) == -EINVAL,
				      "double free accepted");
			break;
		}
		case 4: /* attach to a real ring, odd first slots */
			if (p)
				regbuf_pool_attach(
					p, rings[take8(&in) & 1].ring_fd,
					take16(&in) % 16500);
			break;
		case 5:
			if (p)
				regbuf_pool_detach(
					p, rings[take8(&in) & 1].ring_fd);
			break;
		case 6: { /* stray fds: closed, stdio, whatever is open */
			int fd = (int)(take8(&in) % 40) - 2;

			if (p && fd != rings[0].ring_fd &&
			    fd != rings[1].ring_fd) {
				check(regbuf_pool_attach(p, fd, 0) < 0,
				      "attached to a non-ring fd");
				regbuf_pool_detach(p, fd);
			}
			break;
		}
		case 7: { /* bufring create */
			uint32_t nbufs = 1u << (take8(&in) % 8);
			uint32_t bsz = (take16(&in) + 1) * 16;
			unsigned fl = take8(&in) % 8;

			if (take8(&in) == 7)
				nbufs = 3;
			if (!p || br)
				break;
			if (!regbuf_bufring_create(
				    p, rings[take8(&in) & 1].ring_fd,
				    (uint16_t)take8(&in), nbufs, bsz, fl, &br))
				br_pool = (int)pi;
			break;
		}
		case 8: { /* take a made-up completion */
			int32_t res = (int32_t)(take16(&in) % 9000) - 200;
			uint32_t fl = take8(&in) | (uint32_t)take8(&in) << 16;
			int n;

			if (!br || ntaken >= 4)
				break;
			n = regbuf_bufring_take(br, res, fl, taken + ntaken,
						(unsigned)(8 - ntaken));
			check(n <= 8 - ntaken, "too many handles");
			for (int i = 0; i < n; i++)
				memset(taken[ntaken + i].addr, 1,
				       taken[ntaken + i].len);
			if (n > 0)
				ntaken += n;
			break;
		}
		case 9: /* recycle one, in any order */
			if (br && ntaken) {
				unsigned k = take8(&in) % (unsigned)ntaken;

				check(!regbuf_bufring_recycle(br, &taken[k]),
				      "recycle of a taken handle refused");
				check(regbuf_bufring_recycle(br, &taken[k]) ==
					      -EINVAL,
				      "double recycle accepted");
				taken[k] = taken[--ntaken];
			}
			break;
		case 10: { /* queries */
			struct regbuf_pool_info info = {.struct_size =
								sizeof(info)};
			struct regbuf_slot_info si = {.struct_size =
							      sizeof(si)};
			struct regbuf_bufring_stats st = {.struct_size =
								  sizeof(st)};

			if (!p)
				break;
			check(!regbuf_pool_info(p, &info), "info failed");
			regbuf_pool_slot(p, take16(&in), &si);
			regbuf_pool_slot_of(p,
					    (char *)regbuf_pool_base(p) +
						    (take32(&in) % (64u << 20)),
					    &si);
			if (br)
				check(!regbuf_bufring_stats(br, &st),
				      "stats failed");
			break;
		}
		case 12: /* grow (GROWABLE pools; the rest refuse) */
			if (p) {
				size_t before = regbuf_pool_size(p);
				int r = regbuf_pool_grow(
					p, (size_t)take16(&in) * 4096);

				check(r < 0 || regbuf_pool_size(p) > before,
				      "growth without more memory");
				check(r >= 0 || regbuf_pool_size(p) == before,
				      "failed growth changed the size");
			}
			break;
		case 11: /* bufring destroy with handles held */
			if (br) {
				regbuf_bufring_destroy(br);
				br = NULL;
				ntaken = 0;
			}
			break;
		}
	}
	if (br)
		regbuf_bufring_destroy(br);
	for (int i = 0; i < NBUF; i++)
		if (bufs[i].live && pools[bufs[i].pool])
			regbuf_free(pools[bufs[i].pool], &bufs[i].b);
	for (int i = 0; i < NPOOL; i++)
		if (pools[i]) {
			regbuf_pool_detach(pools[i], rings[0].ring_fd);
			regbuf_pool_detach(pools[i], rings[1].ring_fd);
			regbuf_pool_destroy(pools[i]);
		}
	return 0;
}
