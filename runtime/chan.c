/*
 * chan.c - channels of int64 values, and select.
 *
 * A channel is a ring of values under a 4-byte lock, with two queues of
 * blocked threads: receivers (a select waits in the receive queue of every
 * channel it selects on) and senders. Whoever makes a channel ready claims
 * every waiter in the matching queue, and each rechecks. Waking all costs
 * spurious wake-ups when many threads wait on one channel; it is what
 * keeps a select that went elsewhere from swallowing the only wake-up.
 *
 * An unbuffered channel stores the value in a one-value slot and the
 * sender waits until the receiver's count passes its ticket. A receiver
 * sees a value exactly when a sender is blocked in send, which is Go's
 * unbuffered semantics.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

static uint32_t slots(const gt_chan *c)
{
	return c->cap ? c->cap : 1;
}

static bool valid(const gt_chan *c)
{
	return c && c->magic == GT_CHAN_MAGIC;
}

void gt__queue_add(struct gt__waitnode **q, struct gt__waitnode *n)
{
	n->prev = NULL;
	n->next = *q;
	if (*q)
		(*q)->prev = n;
	*q = n;
	n->linked = 1;
}

void gt__queue_del(struct gt__waitnode **q, struct gt__waitnode *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		*q = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->linked = 0;
}

static void wake_all(struct gt__waitnode **q)
{
	while (*q) {
		struct gt__waitnode *n = *q;

		gt__queue_del(q, n);
		gt__waiter_claim(n->w);
	}
}

/* Sleep in queue q until claimed; the caller holds c->lock, and holds it
 * again on return. */
static void wait_locked(gt_chan *c, struct gt__waitnode **q)
{
	struct gt__waiter w = {GT_W_SPINNING};
	struct gt__waitnode n = {.w = &w};

	gt__queue_add(q, &n);
	gt__lock_release(&c->lock);
	gt__waiter_wait(&w, INT64_MAX);
	gt__lock_acquire(&c->lock);
	if (n.linked)
		gt__queue_del(q, &n);
}

static void init(gt_chan *c, uint32_t cap, uint16_t flags, int64_t *buf)
{
	c->magic = GT_CHAN_MAGIC;
	c->flags = flags;
	c->closed = 0;
	atomic_init(&c->lock.v, 0);
	c->cap = cap;
	c->len = 0;
	c->head = 0;
	atomic_init(&c->refs, 1);
	c->pad_ = 0;
	c->buf = buf ? buf : &c->inline_val;
	c->inline_val = 0;
	c->sent = 0;
	c->recvd = 0;
	c->recvq = NULL;
	c->sendq = NULL;
}

void gt__chan_init_timer(struct gt_chan *c)
{
	init(c, 1, GT_CH_TIMER, NULL);
}

static void push_locked(gt_chan *c, int64_t v)
{
	uint32_t tail = c->head + c->len;

	if (tail >= slots(c))
		tail -= slots(c);
	c->buf[tail] = v;
	c->len++;
	if (c->recvq)
		wake_all(&c->recvq);
}

bool gt__chan_offer_locked(struct gt_chan *c, int64_t v)
{
	if (c->len >= slots(c))
		return false;
	push_locked(c, v);
	return true;
}

bool gt__chan_drain_locked(struct gt_chan *c)
{
	if (c->len == 0)
		return false;
	c->len = 0;
	c->head = 0;
	return true;
}

/* @return 1 with *v taken, 0 if closed and empty (*v = 0), -1 if nothing
 * is there yet. The caller holds c->lock. */
int gt__chan_take_locked(gt_chan *c, int64_t *v)
{
	if (c->len == 0) {
		*v = 0;
		return c->closed ? 0 : -1;
	}
	*v = c->buf[c->head];
	c->head = c->head + 1 == slots(c) ? 0 : c->head + 1;
	c->len--;
	if (c->cap == 0)
		c->recvd++;
	if (c->sendq)
		wake_all(&c->sendq);
	return 1;
}

/* Tell a recorder that a timer's value was received; no lock is held. */
void gt__chan_report_received(gt_chan *c, int r, int64_t v)
{
	if (r == 1 && (c->flags & GT_CH_TIMER)) {
		struct gt_timer *t = container_of(c, struct gt_timer, ch);

		gt_hook_received(gt__timer_handle(t), t->kind, t->seq + 1, v);
	}
}

static int try_take(gt_chan *c, int64_t *v)
{
	int r;

	gt__lock_acquire(&c->lock);
	r = gt__chan_take_locked(c, v);
	gt__lock_release(&c->lock);
	gt__chan_report_received(c, r, *v);
	return r;
}

gt_chan *gt_chan_new(size_t capacity)
{
	gt_chan *c;
	int64_t *buf = NULL;

	gt__init();
	if (capacity > GT_CHAN_MAX_CAP) {
		errno = EINVAL;
		return NULL;
	}
	c = malloc(sizeof(*c));
	if (c && capacity > 1) {
		buf = malloc(capacity * sizeof(*buf));
		if (!buf) {
			free(c);
			c = NULL;
		}
	}
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	init(c, (uint32_t)capacity, 0, buf);
	return c;
}

/* Unbuffered: wait until a receiver has taken the value with this ticket.
 * A close before that withdraws it, which is then the only value in the
 * slot. */
static int await_receiver_locked(gt_chan *c, uint64_t ticket)
{
	while (c->recvd < ticket) {
		if (c->closed) {
			c->sent--; /* gt_chan_close() withdrew the value */
			if (c->sendq)
				wake_all(&c->sendq);
			return -EPIPE;
		}
		wait_locked(c, &c->sendq);
	}
	return 0;
}

int gt_chan_send(gt_chan *c, int64_t v)
{
	int err = 0;

	if (!valid(c) || (c->flags & GT_CH_TIMER))
		return -EINVAL;
	gt__lock_acquire(&c->lock);
	while (!c->closed && c->len >= slots(c))
		wait_locked(c, &c->sendq);
	if (c->closed) {
		err = -EPIPE;
	} else {
		push_locked(c, v);
		if (c->cap == 0)
			err = await_receiver_locked(c, ++c->sent);
	}
	gt__lock_release(&c->lock);
	return err;
}

bool gt_chan_recv(gt_chan *c, int64_t *v)
{
	bool ok = false;
	int r;

	if (!valid(c)) {
		errno = EINVAL;
		if (v)
			*v = 0;
		return false;
	}
	r = gt__select(&c, 1, v, &ok, -1);
	return r == 0 && ok;
}

bool gt_chan_try_recv(gt_chan *c, int64_t *v)
{
	int64_t val = 0;
	int r = valid(c) ? try_take(c, &val) : -1;

	if (v)
		*v = val;
	return r == 1;
}

int gt_chan_close(gt_chan *c)
{
	int err = 0;

	if (!valid(c) || (c->flags & GT_CH_TIMER))
		return -EINVAL;
	gt__lock_acquire(&c->lock);
	if (c->closed) {
		err = -EPIPE;
	} else {
		c->closed = 1;
		/* An unbuffered channel's slot holds the value of a sender still
		 * waiting for a receiver: that send fails with -EPIPE, so the
		 * value must not be received after the close. */
		if (c->cap == 0)
			c->len = 0;
		wake_all(&c->recvq);
		wake_all(&c->sendq);
	}
	gt__lock_release(&c->lock);
	return err;
}

/* Sync mode presents timer channels as unbuffered, as Go 1.23 does: the
 * buffer is an implementation detail that Stop and Reset undo. */
static bool looks_unbuffered(const gt_chan *c)
{
	return c->cap == 0 || ((c->flags & GT_CH_TIMER) && gt__rt.mode == GT_MODE_SYNC);
}

size_t gt_chan_len(const gt_chan *c)
{
	gt_chan *m = (gt_chan *)c; /* the lock is not part of the value */
	size_t n;

	if (!valid(c) || looks_unbuffered(c))
		return 0;
	gt__lock_acquire(&m->lock);
	n = m->len;
	gt__lock_release(&m->lock);
	return n;
}

size_t gt_chan_cap(const gt_chan *c)
{
	if (!valid(c) || looks_unbuffered(c))
		return 0;
	return c->cap;
}

void gt_chan_release(gt_chan *c)
{
	if (!c)
		return;
	if (!valid(c)) {
		errno = EINVAL;
		return;
	}
	if (c->flags & GT_CH_TIMER) {
		struct gt_timer *t = container_of(c, struct gt_timer, ch);

		if (t->kind == GT_KIND_AFTER)
			gt__after_release(t);
		else
			errno = EINVAL; /* borrowed from its timer */
		return;
	}
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	c->magic = GT_DEAD_MAGIC;
	if (c->buf != &c->inline_val)
		free(c->buf);
	free(c);
}
