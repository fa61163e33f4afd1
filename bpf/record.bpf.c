// SPDX-License-Identifier: GPL-2.0
/*
 * record.bpf.c - timerleak-record's BPF side: the target's timer syscalls
 * (tracepoints) and probe points (one uprobe program, told apart by its
 * attach cookie), as struct tlr_event in a ring buffer (record.h).
 *
 * Every program first checks that the current task belongs to the target
 * process and returns at once otherwise: a tracepoint fires for every
 * process on the machine. close() and its relatives are filtered further
 * to the target's timerfd descriptors (the fds map) before any other work,
 * since a service closes sockets and files all day.
 *
 * Nothing is written into the target; nothing waits. A full ring buffer
 * drops the event and counts it. The reader is woken only once a batch has
 * gathered (wake_bytes): a wake-up per event costs more than the event.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "record.h"

char LICENSE[] SEC("license") = "GPL";

/* Set through the skeleton's rodata before loading (record.c). */
const volatile __u32 target_tgid = 0;
const volatile __u32 max_depth = 64;
const volatile __u64 wake_bytes = 1 << 20;
/* A Go target's runtime timers (record.c, by its Go version): where the
 * fields are, and the callbacks of the timers to record. Others (the
 * runtime's own: the scavenger, network deadlines) are left before any
 * work is done. */
const volatile __u32 go_when = 8, go_period = 16, go_func = 24, go_arg = 40, go_state = 64;
const volatile __u32 go_read = 72; /* bytes of the timer that hold them */
const volatile __u64 go_send_time = 0, go_go_func = 0, go_ready = 0;
/* Where a goroutine's saved pc and frame pointer are in its g (g.sched,
 * as runtime.mcall fills it): a Sleep's timer is reset on the scheduler's
 * stack, whose frames end there; the sleeping goroutine's begin at these.
 * 0: not known. */
const volatile __u32 go_sched_pc = 0, go_sched_bp = 0;
/* Set by the recorder when it stops: from then on nothing is recorded (or
 * dropped) while the probes are taken away, which takes a while. */
volatile __u32 stopped = 0;

#define F_DUPFD            0
#define F_DUPFD_CLOEXEC    1030
#define CLOSE_RANGE_CLOEXEC (1U << 2)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by record.c (--buffer) */
} events SEC(".maps");

/* The target's timerfd descriptors: record.c fills it with those open when
 * it attaches; timerfd_create, dup and close keep it current. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u32);
	__type(value, __u8);
} fds SEC(".maps");

/* A syscall's arguments from its entry to its exit, by thread. */
struct tlr_call {
	__u64 a[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, __u32);
	__type(value, struct tlr_call);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLR_C_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline bool ours(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid && !stopped;
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &c);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void *reserve(__u16 type, __u64 size)
{
	struct tlr_event *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e) {
		count(TLR_C_DROPPED);
		return NULL;
	}
	e->time = bpf_ktime_get_ns();
	e->tid = current_tid();
	e->type = type;
	e->how = TLR_STACK_NONE;
	e->pad = 0;
	e->nframes = 0;
	e->nstack = 0;
	return e;
}

static __always_inline void submit(void *e)
{
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wake_bytes
			      ? BPF_RB_FORCE_WAKEUP
			      : BPF_RB_NO_WAKEUP;

	bpf_ringbuf_submit(e, flags);
}

/*
 * The user stack by frame pointers, from a function's entry (a uprobe, or
 * a syscall made by a libc wrapper that sets up no frame of its own): the
 * caller's return address is at [sp], and bp still holds the caller's
 * frame, whose chain gives the callers above it.
 */
static __always_inline void walk_from(struct tlr_event *e, __u64 ret, __u64 bp)
{
	__u64 frame[2];
	__u32 n = 0;

	if (ret)
		e->frames[n++] = ret;
	for (int i = 0; i < TLR_MAX_FRAMES; i++) {
		if (n >= max_depth || n >= TLR_MAX_FRAMES)
			break;
		if (!bp || bpf_probe_read_user(frame, sizeof(frame), (void *)bp))
			break;
		if (!frame[1])
			break;
		e->frames[n & (TLR_MAX_FRAMES - 1)] = frame[1];
		n++;
		if (frame[0] <= bp) /* the stack grows down: a caller's frame is above */
			break;
		bp = frame[0];
	}
	e->nframes = n;
	e->how = TLR_STACK_FP;
}

static __always_inline void walk(struct tlr_event *e, __u64 sp, __u64 bp)
{
	__u64 ret = 0;

	bpf_probe_read_user(&ret, sizeof(ret), (void *)sp);
	walk_from(e, ret, bp);
}

/* The malloc headers around p (record.h, mem[]). */
static __always_inline void read_heap(struct tlr_event *e, __u64 p)
{
	__u64 hdr[2] = {0, 0}, size, h = p & ~(TLR_HEAP_MAX - 1);

	__builtin_memset(e->mem, 0, sizeof(e->mem));
	if (!p || bpf_probe_read_user(hdr, sizeof(hdr), (void *)(p - 16)))
		return;
	e->mem[0] = hdr[0];
	e->mem[1] = hdr[1];
	size = hdr[1] & ~7ull;
	if (size < (1ull << 40))
		bpf_probe_read_user(&e->mem[2], 8, (void *)(p - 8 + size));
	bpf_probe_read_user(&e->mem[3], 8, (void *)h);
	bpf_probe_read_user(&e->mem[4], 8, (void *)(h + 16));
}

/* The registers the task entered the kernel with. */
static __always_inline int user_regs(struct pt_regs *r)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return bpf_probe_read_kernel(r, sizeof(*r), (void *)bpf_task_pt_regs(t));
}

static __always_inline void save(__u64 a0, __u64 a1, __u64 a2, __u64 a3, __u64 a4)
{
	__u32 tid = current_tid();
	struct tlr_call c = {{a0, a1, a2, a3, a4}};

	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
}

/* The arguments saved at entry, removed. @return false if there are none. */
static __always_inline bool take(struct tlr_call *c)
{
	__u32 tid = current_tid();
	struct tlr_call *p = bpf_map_lookup_elem(&calls, &tid);

	if (!p)
		return false;
	*c = *p;
	bpf_map_delete_elem(&calls, &tid);
	return true;
}

static __always_inline bool is_timerfd(__u32 fd)
{
	return bpf_map_lookup_elem(&fds, &fd) != NULL;
}

static __always_inline void track(__u32 fd)
{
	__u8 one = 1;

	if (bpf_map_update_elem(&fds, &fd, &one, BPF_ANY))
		count(TLR_C_UNTRACKED);
}

/* struct itimerspec (or a timespec pair) in ns: interval, then value. */
static __always_inline void read_itimerspec(__u64 uptr, __u64 *interval, __u64 *value)
{
	__s64 ts[4] = {0, 0, 0, 0};

	*interval = *value = 0;
	if (!uptr || bpf_probe_read_user(ts, sizeof(ts), (void *)uptr))
		return;
	*interval = (__u64)(ts[0] * 1000000000 + ts[1]);
	*value = (__u64)(ts[2] * 1000000000 + ts[3]);
}

/* ---------------------------------------------------------------------------
 * timerfd
 */

/*
 * The timer syscalls are seen at their exit only, where the result is
 * known: their arguments are still in the registers the task entered the
 * kernel with (only ax changes), and what they point to is the caller's.
 * One program per call instead of two, and no map between them.
 */
SEC("tracepoint/syscalls/sys_exit_timerfd_create")
int tfd_create_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct tlr_event *e;
	struct pt_regs r;

	if (!ours() || ctx->ret < 0 || user_regs(&r))
		return 0;
	track((__u32)ctx->ret);
	e = reserve(TLR_TFD_CREATE, sizeof(*e));
	if (!e)
		return 0;
	e->a[0] = (__u64)ctx->ret;
	e->a[1] = r.di; /* clockid */
	e->a[2] = r.si; /* flags */
	walk(e, r.sp, r.bp);
	submit(e);
	return 0;
}

/* Shared by both kinds of kernel timer: an arm (or a disarm) that took,
 * settime(id or fd in di, flags in si, new value at dx, old value at r10). */
static __always_inline int settime_exit(const struct pt_regs *r, __u16 type)
{
	__u64 interval, value, old_interval, old_value;
	struct tlr_event *e = reserve(type, TLR_EVENT_HEAD);

	if (!e)
		return 0;
	read_itimerspec(r->dx, &interval, &value);
	e->a[0] = (__u32)r->di; /* an int, whatever the register's upper half holds */
	e->a[1] = value;
	e->a[2] = interval;
	e->a[3] = r->si;
	/* The old value, where the caller asked for it: was it armed? */
	read_itimerspec(r->r10, &old_interval, &old_value);
	e->a[4] = r->r10 ? (old_value != 0) : 2; /* 2: not known */
	submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_timerfd_settime")
int tfd_settime_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs r;

	if (!ours() || ctx->ret != 0 || user_regs(&r) || !is_timerfd((__u32)r.di))
		return 0;
	return settime_exit(&r, TLR_TFD_SETTIME);
}

/* ---------------------------------------------------------------------------
 * Descriptors: close, close_range, dup, dup2, dup3, fcntl(F_DUPFD)
 */

static __always_inline void emit_fd(__u16 type, __u64 a0, __u64 a1)
{
	struct tlr_event *e = reserve(type, TLR_EVENT_HEAD);

	if (!e)
		return;
	e->a[0] = a0;
	e->a[1] = a1;
	submit(e);
}

SEC("tracepoint/syscalls/sys_enter_close")
int close_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 fd = (__u32)ctx->args[0];

	/* Linux releases the descriptor whatever close() returns. */
	if (!ours() || !is_timerfd(fd))
		return 0;
	bpf_map_delete_elem(&fds, &fd);
	emit_fd(TLR_FD_CLOSE, fd, 0);
	return 0;
}

struct tlr_range {
	__u32 first, last;
};

static long close_in_range(struct bpf_map *map, __u32 *fd, __u8 *v, struct tlr_range *r)
{
	if (*fd >= r->first && *fd <= r->last)
		bpf_map_delete_elem(map, fd);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close_range")
int close_range_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct tlr_range r = {(__u32)ctx->args[0], (__u32)ctx->args[1]};

	if (!ours() || (ctx->args[2] & CLOSE_RANGE_CLOEXEC))
		return 0;
	/* The user side knows which timerfds the range held; the map must
	 * forget them now, before the numbers are handed out again. */
	emit_fd(TLR_CLOSE_RANGE, r.first, r.last);
	bpf_for_each_map_elem(&fds, close_in_range, &r, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_dup")
int dup_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (ours())
		save(ctx->args[0], (__u64)-1, 0, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int dup2_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (ours())
		save(ctx->args[0], ctx->args[1], 0, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int dup3_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (ours())
		save(ctx->args[0], ctx->args[1], 0, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_fcntl")
int fcntl_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (ours() && (ctx->args[1] == F_DUPFD || ctx->args[1] == F_DUPFD_CLOEXEC))
		save(ctx->args[0], (__u64)-1, 0, 0, 0);
	return 0;
}

/* A new descriptor: if it replaced a timerfd's (dup2 over it), that one
 * is closed; if it copies a timerfd's, the timerfd has one more. */
static __always_inline int dup_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 old, new;
	struct tlr_call c;

	if (!ours() || !take(&c) || ctx->ret < 0)
		return 0;
	old = (__u32)c.a[0];
	new = (__u32)ctx->ret;
	if (old == new)
		return 0;
	if (is_timerfd(new)) {
		bpf_map_delete_elem(&fds, &new);
		emit_fd(TLR_FD_CLOSE, new, 0);
	}
	if (is_timerfd(old)) {
		track(new);
		emit_fd(TLR_FD_DUP, old, new);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_dup")
int dup_exit1(struct trace_event_raw_sys_exit *ctx)
{
	return dup_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_dup2")
int dup_exit2(struct trace_event_raw_sys_exit *ctx)
{
	return dup_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_dup3")
int dup_exit3(struct trace_event_raw_sys_exit *ctx)
{
	return dup_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_fcntl")
int fcntl_exit(struct trace_event_raw_sys_exit *ctx)
{
	return dup_exit(ctx);
}

/* ---------------------------------------------------------------------------
 * POSIX timers
 */

/*
 * glibc's timer_create is a function with a frame and saved registers of
 * its own, around the syscall: neither [sp] nor the frame chain finds its
 * caller. The registers and a slice of the stack go to the user side,
 * which unwinds them by .eh_frame (unwind.c).
 */
SEC("tracepoint/syscalls/sys_exit_timer_create")
int pt_create_exit(struct trace_event_raw_sys_exit *ctx)
{
	__s32 sev[4] = {0, 0, 0, -1}; /* sigev_value (8 bytes), signo, notify (-1: none given) */
	struct tlr_slice *sl;
	struct tlr_event *e;
	struct pt_regs r;
	__s32 id = 0;

	/* timer_create(clockid in di, sigevent at si, the id's home at dx) */
	if (!ours() || ctx->ret != 0 || user_regs(&r))
		return 0;
	if (!r.dx || bpf_probe_read_user(&id, sizeof(id), (void *)r.dx))
		return 0;
	if (r.si)
		bpf_probe_read_user(sev, sizeof(sev), (void *)r.si);
	e = reserve(TLR_PT_CREATE, sizeof(*e) + sizeof(*sl));
	if (!e)
		return 0;
	e->a[0] = (__u64)id;
	e->a[1] = r.di;
	e->a[2] = (__u64)(__s64)sev[3];
	e->a[3] = (__u64)sev[2];
	sl = (void *)(e + 1);
	sl->ip = r.ip;
	sl->sp = r.sp;
	sl->bp = r.bp;
	sl->bx = r.bx;
	sl->r12 = r.r12;
	sl->r13 = r.r13;
	sl->r14 = r.r14;
	sl->r15 = r.r15;
	/* Near the top of the stack a full copy would fault: less. */
	if (bpf_probe_read_user(sl->stack, TLR_STACK_COPY, (void *)r.sp) == 0)
		e->nstack = TLR_STACK_COPY;
	else if (bpf_probe_read_user(sl->stack, 512, (void *)r.sp) == 0)
		e->nstack = 512;
	e->how = TLR_STACK_SLICE;
	submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_timer_settime")
int pt_settime_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs r;

	if (!ours() || ctx->ret != 0 || user_regs(&r))
		return 0;
	return settime_exit(&r, TLR_PT_SETTIME);
}

SEC("tracepoint/syscalls/sys_exit_timer_delete")
int pt_delete_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs r;

	if (ours() && ctx->ret == 0 && user_regs(&r) == 0)
		emit_fd(TLR_PT_DELETE, (__u32)r.di, 0);
	return 0;
}

/* ---------------------------------------------------------------------------
 * The process's end, or its exec
 */

SEC("tracepoint/sched/sched_process_exit")
int process_exit(struct trace_event_raw_sched_process_template *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	/* The thread group's leader goes last; its exit code is the
	 * process's wait status (the signal that killed it, if one did). An
	 * exit after the recording stopped (while the probes are taken down)
	 * is past the trace's end: not its business. */
	if ((id >> 32) == target_tgid && (__u32)id == target_tgid && !stopped)
		emit_fd(TLR_EXIT, BPF_CORE_READ(bpf_get_current_task_btf(), exit_code), 0);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	if (ours())
		emit_fd(TLR_EXEC, 0, 0);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Probe points: one program for all, the attach cookie says which
 */

/* The probed function's arguments, by the ABI the cookie names. */
static __always_inline void probe_args(struct tlr_event *e, const struct pt_regs *r, __u64 cookie)
{
	if (cookie & TLR_COOKIE_GO_ABI) {
		e->a[0] = r->ax;
		e->a[1] = r->bx;
		e->a[2] = r->cx;
		e->a[3] = r->di;
		e->a[4] = r->si;
		e->a[5] = r->r8;
	} else {
		e->a[0] = r->di;
		e->a[1] = r->si;
		e->a[2] = r->dx;
		e->a[3] = r->cx;
		e->a[4] = r->r8;
		e->a[5] = r->r9;
	}
}

/*
 * A Go timer's words (record.h, TLR_GO_*), read before anything else is
 * done. @return false for a timer not to record: its callback is none of
 * those asked for, or it cannot be read.
 */
/* The most of a runtime timer read (go_read): the fields read are all
 * within. */
#define GO_TIMER_READ 96

static __always_inline __u64 word_at(const __u8 *w, __u32 off)
{
	__u64 v = 0;

	if (off <= GO_TIMER_READ - 8)
		__builtin_memcpy(&v, w + off, 8);
	return v;
}

static __always_inline bool go_timer(__u64 t, __u64 freg, __u64 argreg, __u64 m[5])
{
	__u8 w[GO_TIMER_READ] = {};
	__u32 n = go_read < GO_TIMER_READ ? go_read : GO_TIMER_READ;
	__u64 f, arg;

	/* One read of the timer's fields: a read costs more than its bytes.
	 * No further: the page after the timer may not be there yet. */
	if (!t || bpf_probe_read_user(w, n, (void *)t))
		return false;
	f = freg ? freg : word_at(w, go_func);
	if (!f || bpf_probe_read_user(&m[TLR_GO_FUNC], 8, (void *)f))
		return false;
	f = m[TLR_GO_FUNC];
	if (f != go_send_time && f != go_go_func && f != go_ready)
		return false;
	m[TLR_GO_WHEN] = word_at(w, go_when);
	m[TLR_GO_PERIOD] = word_at(w, go_period);
	m[TLR_GO_STATE] = (__u32)word_at(w, go_state);
	/* sendTime's argument is the channel, whose first word is its count;
	 * goFunc's is the func AfterFunc was given, whose first word is its
	 * code; goroutineReady's is the goroutine. */
	arg = freg ? argreg : word_at(w, go_arg);
	if (f == go_ready)
		m[TLR_GO_MORE] = arg;
	else if (arg)
		bpf_probe_read_user(&m[TLR_GO_MORE], 8, (void *)arg);
	return true;
}

SEC("uprobe")
int probe(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), m[5] = {0, 0, 0, 0, 0};
	struct tlr_event *e;
	struct pt_regs r;

	if (!ours())
		return 0;
	/* A copy of what is used: the verifier allows no computed offset into
	 * the context, which the two register orders below would invite the
	 * compiler to make. Field by field: a read of the whole costs more. */
	r.ax = ctx->ax;
	r.bx = ctx->bx;
	r.cx = ctx->cx;
	r.dx = ctx->dx;
	r.di = ctx->di;
	r.si = ctx->si;
	r.r8 = ctx->r8;
	r.r9 = ctx->r9;
	r.sp = ctx->sp;
	r.bp = ctx->bp;
	if (cookie & TLR_COOKIE_GO_TIMER) {
		__u64 regs[6] = {r.ax, r.bx, r.cx, r.di, r.si, r.r8};
		__u32 reg = TLR_COOKIE_TREG(cookie);

		bool fr = (cookie & TLR_COOKIE_GO_FREG) && r.di;

		if (reg > 5 || !go_timer(regs[reg] + 8 * TLR_COOKIE_TOFF(cookie), fr ? r.di : 0,
					 fr ? r.r8 : 0, m))
			return 0;
	}
	/* Two reservations of constant size, for the verifier: with frames
	 * where the stack is taken, without them elsewhere. */
	if (cookie & TLR_COOKIE_STACK) {
		e = reserve((__u16)(cookie & TLR_COOKIE_TYPE), sizeof(*e));
		if (!e)
			return 0;
		probe_args(e, &r, cookie);
		if ((cookie & TLR_COOKIE_GO_TIMER) && m[TLR_GO_FUNC] == go_ready && go_sched_pc &&
		    go_sched_bp && m[TLR_GO_MORE]) {
			__u64 pc = 0, bp = 0, gp = m[TLR_GO_MORE];

			bpf_probe_read_user(&pc, 8, (void *)(gp + go_sched_pc));
			bpf_probe_read_user(&bp, 8, (void *)(gp + go_sched_bp));
			walk_from(e, pc, bp);
		} else {
			walk(e, r.sp, r.bp);
		}
	} else {
		e = reserve((__u16)(cookie & TLR_COOKIE_TYPE), TLR_EVENT_HEAD);
		if (!e)
			return 0;
		probe_args(e, &r, cookie);
	}
	if (cookie & TLR_COOKIE_HEAP)
		read_heap(e, e->a[5]);
	else
		__builtin_memcpy(e->mem, m, sizeof(m));
	submit(e);
	return 0;
}
