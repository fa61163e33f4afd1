/*
 * runtime_hooks.c - the observability hooks, and the order of equal
 * deadlines (gotimer.h, "Observability hooks"; docs/runtime.md, "Heaps").
 *
 * This binary defines every gt_hook_* itself. The runtime calls its hooks through the
 * dynamic linker, so these definitions replace the library's empty ones,
 * exactly as a preloaded recorder's would. They record events into a fixed
 * array with atomics only: a hook may run with the runtime's locks held.
 *
 * It also defines clock_gettime(), which the runtime reads its clock with,
 * so that a test can stop the clock and give many timers one deadline:
 * that is the only way to test the tie-break between equal deadlines,
 * since every timer's deadline is "now + d".
 */
#include "gt_test_util.h"
#include "tl_test.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum ev_type {
	EV_FIRED = 1,
	EV_RECEIVED,
	EV_RECLAIMED,
	EV_CREATED,
	EV_STOPPED,
	EV_RESET,
	EV_RELEASED,
};

struct ev {
	_Atomic int ready; /* set last, with release: the fields below are complete */
	int type;
	int kind;
	bool delivered;
	const void *handle;
	int64_t value;	  /* fired, received: the value; created, reset: the duration */
	size_t bytes;
	const void *arg;  /* created */
	int flags;	  /* reset */
	uint64_t id;	  /* gt_timer_id(handle), asked from inside the fired hook */
	size_t hook_size; /* gt_object_size(handle), likewise */
};

#define NEV 16384
static struct ev evs[NEV];
static _Atomic unsigned nev;
static _Atomic bool recording;

/* Fill the next event; publish it now unless it is a fired event, which
 * its hook completes and publishes. @return its index, or NEV if none. */
static unsigned record_all(int type, const void *handle, int kind, int64_t value,
			   bool delivered, size_t bytes, const void *arg, int flags)
{
	unsigned i;

	if (!atomic_load_explicit(&recording, memory_order_acquire))
		return NEV;
	i = atomic_fetch_add_explicit(&nev, 1, memory_order_relaxed);
	if (i >= NEV)
		return NEV;
	evs[i].type = type;
	evs[i].kind = kind;
	evs[i].delivered = delivered;
	evs[i].handle = handle;
	evs[i].value = value;
	evs[i].bytes = bytes;
	evs[i].arg = arg;
	evs[i].flags = flags;
	if (type != EV_FIRED)
		atomic_store_explicit(&evs[i].ready, 1, memory_order_release);
	return i;
}

static unsigned record(int type, const void *handle, int kind, int64_t value, bool delivered,
		       size_t bytes)
{
	return record_all(type, handle, kind, value, delivered, bytes, NULL, 0);
}

/* Hooks that were passed an id other than gt_timer_id(handle). */
static _Atomic unsigned bad_ids, ids_seen;

static void check_id(const void *handle, uint64_t id)
{
	atomic_fetch_add(&ids_seen, 1);
	if (id == 0 || id != gt_timer_id(handle))
		atomic_fetch_add(&bad_ids, 1);
}

/* A hook may call gt_timer_id() and gt_object_size(), and this one does:
 * with the shard lock held, they must neither block nor lie. */
void gt_hook_fired(const void *handle, int kind, uint64_t id, int64_t value, bool delivered)
{
	unsigned i = record(EV_FIRED, handle, kind, value, delivered, 0);

	check_id(handle, id);
	if (i < NEV) {
		evs[i].id = gt_timer_id(handle);
		evs[i].hook_size = gt_object_size(handle);
		atomic_store_explicit(&evs[i].ready, 1, memory_order_release);
	}
}

void gt_hook_received(const void *handle, int kind, uint64_t id, int64_t value)
{
	check_id(handle, id);
	record(EV_RECEIVED, handle, kind, value, false, 0);
}

/* Called just before free(): the handle still reads as a timer. */
void gt_hook_reclaimed(const void *handle, int kind, uint64_t id, size_t bytes)
{
	check_id(handle, id);
	record(EV_RECLAIMED, handle, kind, 0, false, bytes);
}

void gt_hook_created(const void *handle, int kind, uint64_t id, int64_t duration, size_t bytes,
		     const void *arg)
{
	check_id(handle, id);
	record_all(EV_CREATED, handle, kind, duration, false, bytes, arg, 0);
}

/* delivered carries was_active. */
void gt_hook_stopped(const void *handle, int kind, uint64_t id, bool was_active)
{
	check_id(handle, id);
	record(EV_STOPPED, handle, kind, 0, was_active, 0);
}

void gt_hook_reset(const void *handle, int kind, uint64_t id, int64_t duration, int flags)
{
	check_id(handle, id);
	record_all(EV_RESET, handle, kind, duration, false, 0, NULL, flags);
}

void gt_hook_released(const void *handle, int kind, uint64_t id)
{
	check_id(handle, id);
	record(EV_RELEASED, handle, kind, 0, false, 0);
}

static void record_start(void)
{
	atomic_store(&nev, 0);
	atomic_store(&recording, true);
}

/* The i-th event once complete, or NULL. */
static const struct ev *event(unsigned i)
{
	unsigned n = atomic_load(&nev);

	if (i >= n || i >= NEV || !atomic_load_explicit(&evs[i].ready, memory_order_acquire))
		return NULL;
	return &evs[i];
}

static unsigned recorded(void)
{
	unsigned n = atomic_load(&nev);

	return n < NEV ? n : NEV;
}

/* Index of the first event of type for handle at or after from, or -1.
 * An event still being written is skipped. */
static int find(int type, const void *handle, unsigned from)
{
	for (unsigned i = from; i < recorded(); i++) {
		const struct ev *e = event(i);

		if (e && e->type == type && e->handle == handle)
			return (int)i;
	}
	return -1;
}

static int count(int type, const void *handle)
{
	int n = 0;

	for (int i = find(type, handle, 0); i >= 0; i = find(type, handle, (unsigned)i + 1))
		n++;
	return n;
}

/* ---------------------------------------------------------------------------
 * A clock that can be stopped.
 */

static _Atomic int64_t frozen_at; /* 0: the clock runs */

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int64_t f = atomic_load_explicit(&frozen_at, memory_order_acquire);

	if (f != 0 && id == CLOCK_MONOTONIC) {
		ts->tv_sec = f / GT_SECOND;
		ts->tv_nsec = f % GT_SECOND;
		return 0;
	}
	return (int)syscall(SYS_clock_gettime, id, ts);
}

static void clock_freeze(void)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	atomic_store(&frozen_at, (int64_t)ts.tv_sec * GT_SECOND + ts.tv_nsec);
}

static void clock_thaw(void)
{
	atomic_store(&frozen_at, 0);
}

/* ---------------------------------------------------------------------------
 * Hooks.
 */

TEST(hooks_fired_then_received)
{
	gt_timer *t;
	int64_t v = 0;
	int f, r;
	const struct ev *e;

	record_start();
	t = gt_timer_new(10 * MS);
	REQUIRE(t != NULL);
	REQUIRE(recv_within(gt_timer_chan(t), &v, LATE) == 0);
	f = find(EV_FIRED, t, 0);
	r = find(EV_RECEIVED, t, 0);
	REQUIRE(f >= 0 && r >= 0);
	/* Fired is called before the value is visible. */
	CHECK(f < r);
	e = event((unsigned)f);
	CHECK_EQ(e->kind, GT_KIND_TIMER);
	CHECK_EQ(e->value, v);
	CHECK(e->delivered);
	CHECK_EQ(e->id, gt_timer_id(t));
	CHECK_EQ(e->hook_size, gt_object_size(t));
	e = event((unsigned)r);
	CHECK_EQ(e->kind, GT_KIND_TIMER);
	CHECK_EQ(e->value, v);
	CHECK_EQ(count(EV_FIRED, t), 1);
	CHECK_EQ(count(EV_RECEIVED, t), 1);
	gt_timer_free(t);
}

/* Every way of receiving reports, with the handle the creating call gave. */
TEST(hooks_received_by_every_receive)
{
	gt_chan *a, *b, *plain = gt_chan_new(1), *set[2];
	gt_ticker *tk;
	unsigned before;
	int64_t v = 0;
	int i;

	record_start();
	a = gt_after(0);
	b = gt_after(0);
	tk = gt_ticker_new(5 * MS);
	REQUIRE(a && b && tk && plain);
	CHECK(gt_chan_recv(a, &v));
	i = find(EV_RECEIVED, a, 0);
	REQUIRE(i >= 0);
	CHECK_EQ(event((unsigned)i)->kind, GT_KIND_AFTER);
	CHECK_EQ(event((unsigned)i)->value, v);
	CHECK(WAIT_UNTIL(gt_chan_try_recv(b, &v), LATE));
	CHECK(find(EV_RECEIVED, b, 0) >= 0);
	set[0] = NULL;
	set[1] = gt_ticker_chan(tk);
	CHECK_EQ(gt_select(set, 2, &v, NULL, LATE), 1);
	i = find(EV_RECEIVED, tk, 0);
	REQUIRE(i >= 0);
	CHECK_EQ(event((unsigned)i)->kind, GT_KIND_TICKER);
	CHECK_EQ(event((unsigned)i)->value, v);
	/* A plain channel is not a timer: no event. */
	before = atomic_load(&nev);
	gt_chan_send(plain, 1);
	gt_chan_recv(plain, NULL);
	CHECK_EQ(find(EV_RECEIVED, plain, before), -1);
	gt_chan_release(plain);
	gt_chan_release(a);
	gt_chan_release(b);
	gt_ticker_free(tk);
}

TEST(hooks_dropped_tick_not_delivered)
{
	gt_ticker *tk;
	int64_t v = 0;
	int i;

	record_start();
	tk = gt_ticker_new(5 * MS);
	REQUIRE(tk != NULL);
	/* Nobody receives: the first tick is delivered, the next ones are
	 * dropped, and the tick received is the first. */
	CHECK(WAIT_UNTIL(count(EV_FIRED, tk) >= 3, LATE));
	CHECK(gt_chan_try_recv(gt_ticker_chan(tk), &v));
	gt_ticker_stop(tk);
	i = find(EV_FIRED, tk, 0);
	REQUIRE(i >= 0);
	CHECK(event((unsigned)i)->delivered);
	CHECK_EQ(event((unsigned)i)->value, v);
	for (int k = 0; k < 2; k++) {
		i = find(EV_FIRED, tk, (unsigned)i + 1);
		REQUIRE(i >= 0);
		CHECK(!event((unsigned)i)->delivered);
		CHECK(event((unsigned)i)->value > v);
	}
	gt_ticker_free(tk);
}

static void noop(void *arg)
{
	(void)arg;
}

TEST(hooks_afterfunc_fired)
{
	gt_timer *f;
	int i;

	record_start();
	f = gt_after_func(5 * MS, noop, NULL);
	REQUIRE(f != NULL);
	CHECK(WAIT_UNTIL(find(EV_FIRED, f, 0) >= 0, LATE));
	i = find(EV_FIRED, f, 0);
	REQUIRE(i >= 0);
	CHECK_EQ(event((unsigned)i)->kind, GT_KIND_AFTERFUNC);
	CHECK_EQ(event((unsigned)i)->value, 0);
	CHECK_EQ(event((unsigned)i)->id, gt_timer_id(f));
	CHECK_EQ(event((unsigned)i)->hook_size, gt_object_size(f));
	gt_timer_free(f);
	CHECK(WAIT_UNTIL(count(EV_RECLAIMED, f) == 1, LATE));
	CHECK_EQ(count(EV_RECEIVED, f), 0);
}

/* Reclaimed once per object, with its kind and gt_object_size(). */
TEST(hooks_reclaimed_once_with_size)
{
	gt_timer *t = gt_timer_new(GT_HOUR);
	gt_ticker *tk = gt_ticker_new(GT_HOUR);
	gt_timer *f = gt_after_func(GT_HOUR, noop, NULL);
	size_t st, sk, sf;
	int i;

	REQUIRE(t && tk && f);
	st = gt_object_size(t);
	sk = gt_object_size(tk);
	sf = gt_object_size(f);
	record_start();
	CHECK_EQ(count(EV_RECLAIMED, t), 0);
	gt_timer_free(t);
	gt_ticker_free(tk);
	gt_timer_free(f);
	CHECK(WAIT_UNTIL(count(EV_RECLAIMED, t) == 1, LATE));
	CHECK(WAIT_UNTIL(count(EV_RECLAIMED, tk) == 1, LATE));
	CHECK(WAIT_UNTIL(count(EV_RECLAIMED, f) == 1, LATE));
	if ((i = find(EV_RECLAIMED, t, 0)) >= 0) {
		CHECK_EQ(event((unsigned)i)->kind, GT_KIND_TIMER);
		CHECK_EQ(event((unsigned)i)->bytes, st);
	}
	if ((i = find(EV_RECLAIMED, tk, 0)) >= 0) {
		CHECK_EQ(event((unsigned)i)->kind, GT_KIND_TICKER);
		CHECK_EQ(event((unsigned)i)->bytes, sk);
	}
	if ((i = find(EV_RECLAIMED, f, 0)) >= 0) {
		CHECK_EQ(event((unsigned)i)->kind, GT_KIND_AFTERFUNC);
		CHECK_EQ(event((unsigned)i)->bytes, sf);
	}
}

/* The end of an after-timer's life: at the release in sync mode, at its
 * fire in async mode. */
TEST(hooks_after_reclaimed_per_mode)
{
	int64_t t0 = gt_now();
	int reclaimed;
	bool early;
	gt_chan *a;

	record_start();
	a = gt_after(40 * MS);
	REQUIRE(a != NULL);
	gt_chan_release(a);
	reclaimed = count(EV_RECLAIMED, a);
	early = still_before(t0, 40 * MS); /* released before it could fire */
	if (sync_mode()) {
		CHECK_EQ(reclaimed, 1);
		gt_sleep(60 * MS); /* past its deadline: it must not fire */
		if (early)
			CHECK_EQ(count(EV_FIRED, a), 0);
	} else {
		if (early)
			CHECK_EQ(reclaimed, 0);
		CHECK(WAIT_UNTIL(count(EV_RECLAIMED, a) == 1, LATE));
		CHECK(gt_now() - t0 >= 40 * MS);
		CHECK_EQ(count(EV_FIRED, a), 1);
		CHECK(find(EV_FIRED, a, 0) < find(EV_RECLAIMED, a, 0));
	}
}

/* ---------------------------------------------------------------------------
 * Equal deadlines.
 */

enum { NTIE = 192 };

/* Which of our handles fired, in the order they fired. @return how many. */
static int fire_order(const void *const *handles, int n, int *order)
{
	int k = 0;

	for (unsigned i = 0; i < recorded(); i++) {
		const struct ev *e = event(i);

		if (!e || e->type != EV_FIRED)
			continue;
		for (int j = 0; j < n; j++) {
			if (handles[j] == e->handle && k < n)
				order[k++] = j;
		}
	}
	return k;
}

static int count_fired(const void *const *handles, int n)
{
	int order[NTIE];

	return fire_order(handles, n, order);
}

/* Create one timer of kind i % 3 with deadline now + d. */
static const void *tie_timer(int i, gt_duration d, void **keep)
{
	switch (i % 3) {
	case 0:
		return *keep = gt_timer_new(d);
	case 1:
		return *keep = gt_after(d);
	default:
		return *keep = gt_after_func(d, noop, NULL);
	}
}

static void tie_free(int i, void *keep)
{
	if (i % 3 == 1)
		gt_chan_release(keep);
	else
		gt_timer_free(keep);
}

/* None of the channel timers in h fired before deadline. @return how
 * many did. */
static int fired_early(const void *const *h, int64_t deadline)
{
	int early = 0;

	for (int j = 0; j < NTIE; j++) {
		int i = find(EV_FIRED, h[j], 0);

		if (i >= 0 && event((unsigned)i)->kind != GT_KIND_AFTERFUNC &&
		    event((unsigned)i)->value < deadline)
			early++;
	}
	return early;
}

/* Every timer in h fires, not before deadline, in the order of h. */
static void check_fire_order(const void *const *h, int64_t deadline)
{
	int order[NTIE], n;

	CHECK(WAIT_UNTIL(count_fired(h, NTIE) == NTIE, 5 * LATE));
	n = fire_order(h, NTIE, order);
	CHECK_EQ(n, NTIE);
	for (int i = 0; i < n; i++) {
		if (order[i] != i) {
			TL_FAIL_("fire %d was of timer %d, not of timer %d", i, order[i], i);
			break;
		}
	}
	CHECK_EQ(fired_early(h, deadline), 0);
}

/*
 * Timers with the same deadline fire in creation order. The clock stands
 * still while they are created, so every deadline is exactly equal, and
 * the thread is pinned so they share one heap and one timer thread.
 */
TEST(equal_deadlines_fire_in_creation_order)
{
	const void *h[NTIE];
	void *keep[NTIE];
	cpu_set_t saved;
	int64_t t0;

	REQUIRE(pin_here(&saved) == 0);
	record_start();
	clock_freeze();
	t0 = gt_now();
	for (int i = 0; i < NTIE; i++)
		h[i] = tie_timer(i, 30 * MS, &keep[i]);
	CHECK_EQ(gt_now(), t0); /* the clock really stood still */
	clock_thaw();
	unpin(&saved);
	for (int i = 0; i < NTIE; i++)
		REQUIRE(h[i] != NULL);
	check_fire_order(h, t0 + 30 * MS);
	for (int i = 0; i < NTIE; i++)
		tie_free(i, keep[i]);
}

/* Create timers with deadline first, then Reset them, last first, all to
 * one deadline now + d while the clock stands still. */
static void reset_ties(gt_duration first, gt_duration d)
{
	const void *h[NTIE];
	gt_timer *t[NTIE];
	cpu_set_t saved;
	bool active = true;
	int64_t c0 = gt_now(), t0;

	REQUIRE(pin_here(&saved) == 0);
	for (int i = 0; i < NTIE; i++) {
		h[i] = t[i] = gt_timer_new(first);
		REQUIRE(t[i] != NULL);
	}
	record_start();
	clock_freeze();
	t0 = gt_now();
	for (int i = NTIE; i-- > 0;)
		active &= gt_timer_reset(t[i], d);
	clock_thaw();
	unpin(&saved);
	if (!still_before(c0, first)) {
		/* Held up past the first deadlines: some fired before the Reset. */
		for (int i = 0; i < NTIE; i++)
			gt_timer_free(t[i]);
		return;
	}
	CHECK(active);
	check_fire_order(h, t0 + d);
	for (int i = 0; i < NTIE; i++)
		gt_timer_free(t[i]);
}

/* The tie-break is the creation order, not the order of the Resets that
 * set the equal deadlines (docs/runtime.md: ordered by "(when, creation
 * sequence)"). */
TEST(equal_deadlines_after_reset_fire_in_creation_order)
{
	reset_ties(GT_HOUR, 30 * MS);
}

/* The same with Resets to a later deadline, which may leave a timer's heap
 * entry at its old deadline until it reaches the top (docs/runtime.md):
 * none may fire at the old deadline, and the order still holds. */
TEST(equal_deadlines_after_later_reset_fire_in_creation_order)
{
	reset_ties(10 * MS, 40 * MS);
}

/* Created before the timer can fire, with its kind, duration, size and
 * argument; stopped and reset with what they found; released once the
 * caller lets go, before the reclaim. */
TEST(hooks_created_stopped_reset_released)
{
	static int payload;
	gt_timer *t, *f;
	gt_ticker *tk;
	gt_chan *a;
	const struct ev *e;
	int i;

	record_start();
	t = gt_timer_new(GT_HOUR);
	tk = gt_ticker_new(5 * MS);
	f = gt_after_func(GT_HOUR, noop, &payload);
	a = gt_after(GT_HOUR);
	REQUIRE(t && tk && f && a);
	i = find(EV_CREATED, t, 0);
	REQUIRE(i >= 0);
	e = event((unsigned)i);
	CHECK_EQ(e->kind, GT_KIND_TIMER);
	CHECK_EQ(e->value, GT_HOUR);
	CHECK_EQ(e->bytes, gt_object_size(t));
	CHECK(e->arg == NULL);
	i = find(EV_CREATED, tk, 0);
	REQUIRE(i >= 0);
	CHECK_EQ(event((unsigned)i)->kind, GT_KIND_TICKER);
	CHECK_EQ(event((unsigned)i)->value, 5 * MS);
	i = find(EV_CREATED, f, 0);
	REQUIRE(i >= 0);
	CHECK_EQ(event((unsigned)i)->kind, GT_KIND_AFTERFUNC);
	CHECK(event((unsigned)i)->arg == &payload);
	i = find(EV_CREATED, a, 0);
	REQUIRE(i >= 0);
	CHECK_EQ(event((unsigned)i)->kind, GT_KIND_AFTER);

	CHECK(gt_timer_stop(t));
	CHECK(!gt_timer_stop(t));
	i = find(EV_STOPPED, t, 0);
	REQUIRE(i >= 0);
	CHECK(event((unsigned)i)->delivered); /* was active */
	i = find(EV_STOPPED, t, (unsigned)i + 1);
	REQUIRE(i >= 0);
	CHECK(!event((unsigned)i)->delivered);
	CHECK(!gt_timer_reset(t, 2 * GT_HOUR));
	CHECK(gt_timer_reset(t, 3 * GT_HOUR));
	i = find(EV_RESET, t, 0);
	REQUIRE(i >= 0);
	CHECK_EQ(event((unsigned)i)->value, 2 * GT_HOUR);
	CHECK_EQ(event((unsigned)i)->flags, 0);
	i = find(EV_RESET, t, (unsigned)i + 1);
	REQUIRE(i >= 0);
	CHECK_EQ(event((unsigned)i)->flags, GT_RESET_WAS_ACTIVE);

	/* A tick left unreceived is a value pending at the reset. */
	CHECK(WAIT_UNTIL(gt_ticker_has_value(tk), LATE));
	gt_ticker_reset(tk, 7 * MS);
	i = find(EV_RESET, tk, 0);
	REQUIRE(i >= 0);
	CHECK_EQ(event((unsigned)i)->value, 7 * MS);
	CHECK(event((unsigned)i)->flags & GT_RESET_PENDING);
	CHECK(event((unsigned)i)->flags & GT_RESET_WAS_ACTIVE);
	gt_ticker_stop(tk);
	CHECK(find(EV_STOPPED, tk, 0) >= 0);

	CHECK_EQ(count(EV_RELEASED, t), 0);
	gt_timer_free(t);
	gt_ticker_free(tk);
	gt_timer_free(f);
	gt_chan_release(a);
	CHECK_EQ(count(EV_RELEASED, t), 1);
	CHECK_EQ(count(EV_RELEASED, tk), 1);
	CHECK_EQ(count(EV_RELEASED, f), 1);
	CHECK_EQ(count(EV_RELEASED, a), 1);
	CHECK(WAIT_UNTIL(count(EV_RECLAIMED, t) == 1, LATE));
	CHECK(find(EV_RELEASED, t, 0) < find(EV_RECLAIMED, t, 0));
	CHECK(WAIT_UNTIL(count(EV_RECLAIMED, f) == 1, LATE));
}

/* Every hook is passed the timer's id, the same gt_timer_id() gives. */
TEST(hooks_pass_the_timer_id)
{
	unsigned before = atomic_load(&ids_seen); /* before the 1 ms timers can fire */
	gt_timer *t = gt_timer_new(MS);
	gt_chan *a = gt_after(MS);

	REQUIRE(t && a);
	CHECK(gt_chan_recv(gt_timer_chan(t), NULL));
	CHECK(gt_chan_recv(a, NULL));
	gt_timer_free(t);
	gt_chan_release(a);
	/* Two fires, receives and reclaims; a reclaim may come from the timer
	 * thread, which can drop the last reference just after us. */
	if (!WAIT_UNTIL(atomic_load(&ids_seen) >= before + 6, LATE))
		TL_FAIL_("hooks seen: %u, expected 6", atomic_load(&ids_seen) - before);
	CHECK_EQ(atomic_load(&bad_ids), 0);
}

/*
 * A uprobe on a hook lands on its first instruction: in the library's own
 * definitions that is a 5-byte nop, which the kernel emulates instead of
 * single-stepping (runtime/hooks.c). Sanitizers instrument the entry, and
 * their builds link the runtime statically: only the shared library is
 * checked.
 */
TEST(hooks_begin_with_a_nop_for_probes)
{
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	static const char *const names[] = {
		"gt_hook_created",  "gt_hook_stopped",	"gt_hook_reset",     "gt_hook_released",
		"gt_hook_fired",    "gt_hook_received", "gt_hook_reclaimed",
	};
	static const unsigned char nop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
	Dl_info lib_info, exe_info;
	void *lib;

	REQUIRE(dladdr((void *)gt_timer_new, &lib_info) && lib_info.dli_fname);
	REQUIRE(dladdr((void *)test_hooks_begin_with_a_nop_for_probes, &exe_info));
	if (lib_info.dli_fbase == exe_info.dli_fbase)
		return; /* linked in statically: these are our own hooks */
	lib = dlopen(lib_info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
	REQUIRE(lib);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const void *f = dlsym(lib, names[i]);

		REQUIRE(f);
		if (memcmp(f, nop5, sizeof(nop5)) != 0)
			TL_FAIL_("%s in %s does not begin with a 5-byte nop", names[i],
				 lib_info.dli_fname);
	}
	dlclose(lib);
#endif
}

TEST_MAIN()
