/*
 * hooks.c - the observability hooks: exported, empty, never inlined.
 *
 * The calls to them from the rest of the library go through the PLT
 * (default visibility, no -Bsymbolic), so a preloaded definition replaces
 * these. The empty asm keeps the compiler from proving the bodies empty
 * and dropping the calls, and gives a uprobe an instruction to attach to.
 */
#include "internal.h"

__attribute__((noinline)) void gt_hook_fired(const void *handle, int kind, uint64_t id,
					     int64_t value, bool delivered)
{
	(void)handle, (void)kind, (void)id, (void)value, (void)delivered;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void gt_hook_received(const void *handle, int kind, uint64_t id,
						int64_t value)
{
	(void)handle, (void)kind, (void)id, (void)value;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void gt_hook_reclaimed(const void *handle, int kind, uint64_t id,
						 size_t bytes)
{
	(void)handle, (void)kind, (void)id, (void)bytes;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void gt_hook_created(const void *handle, int kind, uint64_t id,
					       int64_t duration, size_t bytes, const void *arg)
{
	(void)handle, (void)kind, (void)id, (void)duration, (void)bytes, (void)arg;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void gt_hook_stopped(const void *handle, int kind, uint64_t id,
					       bool was_active)
{
	(void)handle, (void)kind, (void)id, (void)was_active;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void gt_hook_reset(const void *handle, int kind, uint64_t id,
					     int64_t duration, int flags)
{
	(void)handle, (void)kind, (void)id, (void)duration, (void)flags;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void gt_hook_released(const void *handle, int kind, uint64_t id)
{
	(void)handle, (void)kind, (void)id;
	__asm__ volatile("" ::: "memory");
}
