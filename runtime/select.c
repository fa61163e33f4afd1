/*
 * select.c - receive from whichever of several channels is ready first.
 *
 * First a pass that takes from the first ready channel, starting at a
 * random index so that no channel starves. If none is ready, the caller
 * queues one node in each channel's receive queue, checking each channel
 * again under its lock as it goes (so nothing that becomes ready after the
 * check goes unseen), sleeps until claimed, unqueues, and starts over.
 * Each round costs n lock acquisitions; Go's select locks all channels at
 * once in address order instead, which is more than this needs.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

/* Nodes on the stack up to this many channels; more are malloc'ed. */
#define STACK_NODES 16

static __thread uint32_t rnd_state;

static uint32_t rnd(void)
{
	uint32_t x = rnd_state;

	if (x == 0)
		x = (uint32_t)(uintptr_t)&rnd_state ^ (uint32_t)gt__now() ^ 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rnd_state = x;
	return x;
}

struct sel {
	gt_chan *const *chans;
	size_t n, start;
	int64_t *v;
	bool *ok;
};

/* The result of a take from chans[i]: @return i. */
static int took(struct sel *s, size_t i, int r, int64_t val)
{
	gt__chan_report_received(s->chans[i], r, val);
	if (s->v)
		*s->v = val;
	if (s->ok)
		*s->ok = r == 1;
	return (int)i;
}

static int poll_all(struct sel *s)
{
	for (size_t k = 0; k < s->n; k++) {
		size_t i = (s->start + k) % s->n;
		gt_chan *c = s->chans[i];
		int64_t val;
		int r;

		if (!c)
			continue;
		gt__lock_acquire(&c->lock);
		r = gt__chan_take_locked(c, &val);
		gt__lock_release(&c->lock);
		if (r >= 0)
			return took(s, i, r, val);
	}
	return -1;
}

static void unqueue(struct sel *s, struct gt__waitnode *nodes)
{
	for (size_t i = 0; i < s->n; i++) {
		gt_chan *c = s->chans[i];

		if (!c || !nodes[i].w)
			continue;
		gt__lock_acquire(&c->lock);
		if (nodes[i].linked)
			gt__queue_del(&c->recvq, &nodes[i]);
		gt__lock_release(&c->lock);
		nodes[i].w = NULL;
	}
}

/* Queue w on every channel, or take from the first that turns out ready.
 * @return the index taken from, or -1 with w queued everywhere. */
static int enqueue(struct sel *s, struct gt__waitnode *nodes, struct gt__waiter *w)
{
	for (size_t k = 0; k < s->n; k++) {
		size_t i = (s->start + k) % s->n;
		gt_chan *c = s->chans[i];
		int64_t val;
		int r;

		if (!c)
			continue;
		gt__lock_acquire(&c->lock);
		r = gt__chan_take_locked(c, &val);
		if (r < 0) {
			nodes[i].w = w;
			gt__queue_add(&c->recvq, &nodes[i]);
		}
		gt__lock_release(&c->lock);
		if (r >= 0) {
			unqueue(s, nodes);
			return took(s, i, r, val);
		}
	}
	return -1;
}

static int wait_any(struct sel *s, struct gt__waitnode *nodes, int64_t deadline)
{
	for (;;) {
		struct gt__waiter w = {GT_W_SPINNING};
		int i, r;

		for (size_t k = 0; k < s->n; k++)
			nodes[k] = (struct gt__waitnode){0};
		i = enqueue(s, nodes, &w);
		if (i >= 0)
			return i;
		r = gt__waiter_wait(&w, deadline);
		unqueue(s, nodes);
		if (r == -ETIMEDOUT) {
			i = poll_all(s);
			return i >= 0 ? i : -ETIMEDOUT;
		}
		s->start = rnd() % s->n;
	}
}

static bool any_channel(gt_chan *const *chans, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (chans[i])
			return true;
	}
	return false;
}

int gt__select(gt_chan *const *chans, size_t n, int64_t *v, bool *ok, gt_duration timeout)
{
	struct gt__waitnode stack_nodes[STACK_NODES], *nodes = stack_nodes;
	struct sel s = {chans, n, 0, v, ok};
	int64_t deadline;
	int i;

	if ((!chans && n > 0) || n > INT32_MAX)
		return -EINVAL;
	if (timeout < 0 && !any_channel(chans, n))
		return -EINVAL; /* would wait for ever */
	if (n == 0 || !any_channel(chans, n)) {
		gt__sleep(timeout);
		return -ETIMEDOUT;
	}
	deadline = timeout < 0 ? INT64_MAX : gt__deadline(timeout);
	s.start = rnd() % n;
	i = poll_all(&s);
	if (i >= 0 || timeout == 0)
		return i >= 0 ? i : -ETIMEDOUT;
	if (n > STACK_NODES) {
		nodes = malloc(n * sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
	}
	i = wait_any(&s, nodes, deadline);
	if (nodes != stack_nodes)
		free(nodes);
	return i;
}

int gt_select(gt_chan *const *chans, size_t n, int64_t *v, bool *ok, gt_duration timeout)
{
	return gt__select(chans, n, v, ok, timeout);
}
