/* SPDX-License-Identifier: MIT */
/*
 * The pools alive in this process, so that every layer can tell a live
 * pool from a destroyed one without reading its freed memory (unless its
 * address was reused since). Below everything that takes a pool.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "pool.h"

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct regbuf_pool **live;
static unsigned nr_live, cap_live;

bool rb_pool_live(const struct regbuf_pool *p)
{
	bool found = false;

	pthread_mutex_lock(&live_lock);
	for (unsigned i = nr_live; i-- > 0 && !found;)
		found = live[i] == p;
	pthread_mutex_unlock(&live_lock);
	return found;
}

int rb_pool_live_add(struct regbuf_pool *p)
{
	int ret = 0;

	pthread_mutex_lock(&live_lock);
	if (nr_live == cap_live) {
		unsigned c = cap_live ? cap_live * 2 : 16;
		const struct regbuf_pool **n = rb_realloc(live, c * sizeof(*n));

		if (n) {
			live = n;
			cap_live = c;
		}
	}
	if (nr_live < cap_live)
		live[nr_live++] = p;
	else
		ret = -ENOMEM;
	pthread_mutex_unlock(&live_lock);
	return ret;
}

void rb_pool_live_del(const struct regbuf_pool *p)
{
	pthread_mutex_lock(&live_lock);
	for (unsigned i = 0; i < nr_live; i++)
		if (live[i] == p) {
			live[i] = live[--nr_live];
			break;
		}
	pthread_mutex_unlock(&live_lock);
}
