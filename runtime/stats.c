/*
 * stats.c - gt_stats_read().
 */
#include "internal.h"

#include <string.h>

void gt_stats_read(gt_stats *st)
{
	if (!st)
		return;
	gt__init();
	memset(st, 0, sizeof(*st));
	for (uint32_t i = 0; i < gt__rt.nshards; i++) {
		struct gt__shard *s = &gt__rt.shards[i];

		gt__lock_acquire(&s->mu);
		st->pending += s->len - s->ndeleted;
		st->heap_entries += s->len;
		st->pending_bytes += s->heap_bytes;
		st->created += s->created;
		st->fired += s->fired;
		st->stopped += s->stopped;
		st->resets += s->resets;
		st->dropped_sends += s->dropped_sends;
		gt__lock_release(&s->mu);
	}
	st->live_objects = atomic_load_explicit(&gt__rt.live_objects, memory_order_relaxed);
	st->live_bytes = atomic_load_explicit(&gt__rt.live_bytes, memory_order_relaxed);
	st->callbacks_run = atomic_load_explicit(&gt__rt.callbacks_run, memory_order_relaxed);
	st->callback_threads =
		atomic_load_explicit(&gt__rt.callback_threads, memory_order_relaxed);
	st->shards = gt__rt.nshards;
}
