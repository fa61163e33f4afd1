/*
 * record.h - what timerleak-record's BPF programs (record.bpf.c) and its
 * user side (record.c, collect.c) share: fixed-width types only, so that
 * both compilers lay them out alike.
 *
 * The BPF side filters to the target process, walks each event's user
 * stack by frame pointers and puts one struct tlr_event in the ring
 * buffer; the user side turns events into trace records. Which argument
 * means what is the user side's business (collect.c): the BPF side copies
 * the syscall's arguments or the probed function's argument registers, so
 * a new probe point is a row in the user side's table, not a new program.
 */
#ifndef TL_RECORD_H
#define TL_RECORD_H

#ifndef __VMLINUX_H__ /* the BPF side has the kernel's types already */
#include <linux/types.h>
#endif

#define TLR_MAX_FRAMES 128 /* frames a BPF walk takes at most (--depth): a power of 2 */
#define TLR_STACK_COPY 2048 /* bytes of user stack copied for an .eh_frame unwind */
#define TLR_NARGS      6

/* What happened in the target. The uprobe types are the attach cookies'
 * low 16 bits (collect.c's probe table). */
enum tlr_type {
	/* syscalls (record.bpf.c's tracepoints); a[] as noted */
	TLR_TFD_CREATE = 1, /* a[0] fd, a[1] clockid, a[2] flags */
	TLR_TFD_SETTIME,    /* a[0] fd, a[1] value ns, a[2] interval ns, a[3] flags,
			       a[4] 1 if it was armed (old value read), else 0 */
	TLR_FD_CLOSE,       /* a[0] a timerfd's descriptor closed (close, dup2 over it) */
	TLR_FD_DUP,         /* a[0] old fd, a[1] new fd: one more descriptor of a timerfd */
	TLR_CLOSE_RANGE,    /* a[0] first, a[1] last, a[2] flags (CLOSE_RANGE_*) */
	TLR_PT_CREATE,      /* a[0] timer id, a[1] clockid, a[2] sigev_notify (-1: none given),
			       a[3] sigev_signo */
	TLR_PT_SETTIME,     /* a[0] timer id, a[1] value ns, a[2] interval ns, a[3] flags,
			       a[4] 1 if it was armed */
	TLR_PT_DELETE,      /* a[0] timer id */
	TLR_EXIT,           /* the process exited: a[0] its wait status */
	TLR_EXEC,           /* the process exec'd another program */
	/* uprobes: a[] is the probed function's argument registers */
	TLR_PROBE = 0x100,  /* types from here on are the probe table's */
};

/* Cookie bits beside the type: how the probed function takes its
 * arguments. */
#define TLR_COOKIE_TYPE   0xffffu
#define TLR_COOKIE_GO_ABI (1u << 16) /* Go's register ABI: AX, BX, CX, DI, SI, R8 */
#define TLR_COOKIE_STACK  (1u << 17) /* take the stack: the event says where a timer is made */
#define TLR_COOKIE_HEAP   (1u << 18) /* read the malloc headers around the 6th argument */
/* A Go runtime timer is one of the arguments: a[TREG] + 8 * TOFF points to
 * it. Its fields are read into mem[] (TLR_GO_*) at the offsets of the
 * target's Go version (record.bpf.c's go_* constants), and the event is
 * dropped before anything else unless its callback is one recorded. */
#define TLR_COOKIE_GO_TIMER (1u << 19)
/* With TLR_COOKIE_GO_TIMER: where the 4th argument (DI) is not 0, it is the
 * timer's new callback and the 6th (R8) its argument's data word, which
 * the timer does not hold yet (Go 1.23's modify, called as it is made). */
#define TLR_COOKIE_GO_FREG  (1u << 20)
#define TLR_COOKIE_TREG(c)  (((c) >> 24) & 7u)
#define TLR_COOKIE_TOFF(c)  (((c) >> 28) & 15u)
#define TLR_COOKIE_T(reg, off) (((__u64)(reg) << 24) | ((__u64)(off) << 28))

/* How the stack was taken. */
enum tlr_stack_how {
	TLR_STACK_NONE = 0,
	TLR_STACK_FP = 1,    /* frames[]: return addresses by frame pointers */
	TLR_STACK_SLICE = 2, /* regs and a copy of the stack: unwind it by .eh_frame */
};

struct tlr_event {
	__u64 time;    /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 tid;
	__u16 type;    /* enum tlr_type */
	__u8 how;      /* enum tlr_stack_how */
	__u8 pad;
	__u32 nframes; /* frames[] in use (TLR_STACK_FP) */
	__u32 nstack;  /* stack[] bytes in use (TLR_STACK_SLICE) */
	__u64 a[TLR_NARGS];
	/* Words of the target's memory, read while the probed function had
	 * not yet changed them. TLR_COOKIE_HEAP: the words
	 * tl_heap_block_size() reads for the pointer p in a[5]: [p-16],
	 * [p-8], [p-8+size], and the heap_info of a thread arena's heap h =
	 * p & ~(64 MiB - 1): [h], [h+16]. TLR_COOKIE_GO_TIMER: TLR_GO_*.
	 * 0 where unreadable. */
	__u64 mem[5];
	__u64 frames[TLR_MAX_FRAMES];
};

/* An event without frames is only this long in the ring buffer: most
 * events carry no stack, and a shorter record is less to reserve, pass and
 * read. */
#define TLR_EVENT_HEAD __builtin_offsetof(struct tlr_event, frames)

#define TLR_HEAP_MAX ((__u64)64 << 20) /* glibc's HEAP_MAX_SIZE on 64-bit */

/* A Go timer's words in mem[]. */
enum {
	TLR_GO_WHEN,   /* when it fires (CLOCK_MONOTONIC ns), as it was */
	TLR_GO_PERIOD, /* its period, as it was */
	TLR_GO_FUNC,   /* the code of its callback (time.sendTime, time.goFunc, ...) */
	TLR_GO_MORE,   /* sendTime: its channel's element count; goFunc: the code
			  of the function AfterFunc was given; goroutineReady: the
			  goroutine (its g) */
	TLR_GO_STATE,  /* its status word (what it means is the version's) */
};

/* A stack slice follows the event in the same ring buffer record. */
struct tlr_slice {
	__u64 ip, sp, bp, bx, r12, r13, r14, r15;
	__u8 stack[TLR_STACK_COPY];
};

/* What the BPF side counts, in the counters map. */
enum tlr_counter {
	TLR_C_DROPPED,    /* events lost: the ring buffer was full */
	TLR_C_UNTRACKED,  /* timerfds the fd map had no room for */
	TLR_C_NCOUNTERS,
};

#endif /* TL_RECORD_H */
