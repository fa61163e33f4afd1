/*
 * unwind.h - the callers of a syscall made inside a libc function that has
 * a frame of its own (glibc's timer_create), from the registers and the
 * slice of stack the BPF side copied (struct tlr_slice), unwound by the
 * .eh_frame of the objects the target has loaded (elfutils libdwfl), as
 * `perf --call-graph dwarf` does.
 */
#ifndef TL_RECORD_UNWIND_H
#define TL_RECORD_UNWIND_H

#include <stdint.h>
#include <sys/types.h>

struct tlr_modules;
struct tlr_slice;
struct tlr_unwinder;

/* An unwinder for pid, whose objects mods keeps (procfs.h): what it knows
 * of them still serves after the process is gone. */
struct tlr_unwinder *tlr_unwinder_new(pid_t pid, const struct tlr_modules *mods);
void tlr_unwinder_free(struct tlr_unwinder *u);

/* The target loaded or unloaded objects: take them again from mods, at
 * the next unwind. */
void tlr_unwinder_stale(struct tlr_unwinder *u);

/*
 * tlr_unwind - the return addresses above the libc function the slice was
 * taken in (its own frames left out, as a call's stack starts at its
 * caller), at most max. @return how many; 0 when it cannot be unwound.
 */
uint32_t tlr_unwind(struct tlr_unwinder *u, pid_t tid, const struct tlr_slice *s,
		    uint32_t nstack, uint64_t *frames, uint32_t max);

#endif /* TL_RECORD_UNWIND_H */
