/*
 * hooks.c - the observability hooks: exported, empty, never inlined.
 *
 * The calls to them from the rest of the library go through the PLT
 * (default visibility, no -Bsymbolic), so a preloaded definition replaces
 * these. The asm keeps the compiler from proving the bodies empty and
 * dropping the calls.
 *
 * A uprobe lands on a hook's first instruction. On x86-64 that is a 5-byte
 * nop: the kernel emulates a nop where it has to single-step a `ret` out
 * of line, which costs some 20 µs a hit on a virtual machine
 * (scripts/bench-record); newer kernels turn a probed nop5 into a call.
 */
#include "internal.h"

#if defined(__x86_64__)
#define HOOK_ENTRY() __asm__ volatile(".byte 0x0f, 0x1f, 0x44, 0x00, 0x00" ::: "memory")
#else
#define HOOK_ENTRY() __asm__ volatile("" ::: "memory")
#endif

__attribute__((noinline)) void gt_hook_fired(const void *handle, int kind, uint64_t id,
					     int64_t value, bool delivered)
{
	HOOK_ENTRY();
	(void)handle, (void)kind, (void)id, (void)value, (void)delivered;
}

__attribute__((noinline)) void gt_hook_received(const void *handle, int kind, uint64_t id,
						int64_t value)
{
	HOOK_ENTRY();
	(void)handle, (void)kind, (void)id, (void)value;
}

__attribute__((noinline)) void gt_hook_reclaimed(const void *handle, int kind, uint64_t id,
						 size_t bytes)
{
	HOOK_ENTRY();
	(void)handle, (void)kind, (void)id, (void)bytes;
}

__attribute__((noinline)) void gt_hook_created(const void *handle, int kind, uint64_t id,
					       int64_t duration, size_t bytes, const void *arg)
{
	HOOK_ENTRY();
	(void)handle, (void)kind, (void)id, (void)duration, (void)bytes, (void)arg;
}

__attribute__((noinline)) void gt_hook_stopped(const void *handle, int kind, uint64_t id,
					       bool was_active)
{
	HOOK_ENTRY();
	(void)handle, (void)kind, (void)id, (void)was_active;
}

__attribute__((noinline)) void gt_hook_reset(const void *handle, int kind, uint64_t id,
					     int64_t duration, int flags)
{
	HOOK_ENTRY();
	(void)handle, (void)kind, (void)id, (void)duration, (void)flags;
}

__attribute__((noinline)) void gt_hook_released(const void *handle, int kind, uint64_t id)
{
	HOOK_ENTRY();
	(void)handle, (void)kind, (void)id;
}
