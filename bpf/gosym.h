/*
 * gosym.h - a Go binary's own symbol table, .gopclntab: function names and
 * entry addresses, and for any PC its function, file and line. Every Go
 * binary has it, stripped (-ldflags='-s -w') or not: it is what the Go
 * runtime prints its own tracebacks from.
 *
 * Read for the table layouts of Go 1.18 and 1.19 (magic 0xfffffff0) and
 * Go 1.20 on (0xfffffff1, a start line in each function's record). Older
 * tables are refused with TLR_GOSYM_E_VERSION, never guessed at.
 *
 * timerleak-record finds its probe points with it; the report can
 * symbolize Go stacks with it. The table is read from the file once
 * (pread), kept in memory, and never trusted: every offset is checked
 * against the table's size, so a damaged binary gives an error or
 * "unknown", never a crash.
 */
#ifndef TL_GOSYM_H
#define TL_GOSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tlr_gosym;

enum {
	TLR_GOSYM_E_NOTFOUND = -1000, /* no .gopclntab: not a Go binary, or not one we can read */
	TLR_GOSYM_E_VERSION = -1001,  /* a table older than Go 1.18's */
	TLR_GOSYM_E_DAMAGED = -1002,  /* the header contradicts the file */
};

/* What a PC is in: the function's name and entry, the file and line. The
 * strings live as long as the table. */
struct tlr_gosym_pc {
	const char *func;
	uint64_t entry;
	const char *file; /* NULL when the table does not say */
	int line;         /* 0 when the table does not say */
};

/*
 * Read the table of the ELF file at path: the .gopclntab section, or,
 * only where the file has no section headers, the table found by its
 * magic in the read-only data (a file with sections and no .gopclntab is
 * not Go). @return the table, or NULL with *err a negative
 * errno or TLR_GOSYM_E_*.
 */
struct tlr_gosym *tlr_gosym_open(const char *path, int *err);
void tlr_gosym_close(struct tlr_gosym *g);

/* "1.18" for the 1.18-1.19 layout, "1.20" for 1.20 and later. */
const char *tlr_gosym_layout(const struct tlr_gosym *g);
size_t tlr_gosym_nfuncs(const struct tlr_gosym *g);

/* The entry address of the function named name (as Go prints it:
 * "runtime.addtimer", "time.(*Timer).Reset"); where an ABI wrapper shares
 * the name, the function's own. @return false if none. */
bool tlr_gosym_lookup(const struct tlr_gosym *g, const char *name, uint64_t *entry);

/* The i-th function, in address order. @return false past the end. */
bool tlr_gosym_func(const struct tlr_gosym *g, size_t i, const char **name, uint64_t *entry);

/* What pc is in. @return false when no function of the table holds it. */
bool tlr_gosym_pc(const struct tlr_gosym *g, uint64_t pc, struct tlr_gosym_pc *out);

/*
 * The source frames at pc, innermost first: the calls inlined there, as
 * the inline tree says, then the function that holds pc. An inlined
 * call's entry is its caller's. At most max. @return how many, 0 when no
 * function holds pc (a table whose inline trees cannot be found gives
 * the function alone).
 */
int tlr_gosym_frames(const struct tlr_gosym *g, uint64_t pc, struct tlr_gosym_pc *out, int max);

/*
 * Where to put a uprobe in the Go function entered at entry in the binary
 * at path: on the conditional jump of its stack check, which the kernel
 * emulates (on the check itself, a compare with a memory operand, it must
 * single-step, some 40 times dearer). At entry the check is
 * `cmp 0x10(%r14),%rsp` (or 0x18), or, for a large frame,
 * `lea -N(%rsp),%r12; cmp 0x10(%r14),%r12`; then `jbe`. At the jump
 * nothing of the function has run: its arguments are in their registers
 * and its caller's return address is at [sp].
 * @return 0 with *off the offset from entry, TLR_GOSYM_E_NOTFOUND when the
 * function has no stack check there (a NOSPLIT one), or a negative errno.
 */
int tlr_gosym_probe_offset(const char *path, uint64_t entry, unsigned *off);

/*
 * Where a goroutine's saved pc and frame pointer are in its g: read from
 * runtime.mcall, entered at entry, which saves them there (g.sched) from
 * its caller before it leaves for the scheduler's stack:
 * `mov %rbx,PC(%r14)` with the caller's pc, and `mov %rbp,BP(%r14)` (or,
 * where mcall has a frame of its own, the caller's rbp through rbx).
 * @return 0, TLR_GOSYM_E_NOTFOUND when mcall does not read so, or a
 * negative errno.
 */
int tlr_gosym_sched_offsets(const char *path, uint64_t entry, unsigned *pc, unsigned *bp);

/* Where virtual address addr is in the ELF file at path (what a uprobe is
 * attached by). @return 0, TLR_GOSYM_E_NOTFOUND when no segment holds it,
 * or a negative errno. */
int tlr_gosym_file_offset(const char *path, uint64_t addr, uint64_t *off);

/* A message for a TLR_GOSYM_E_* or negative errno. */
const char *tlr_gosym_strerror(int err);

#endif /* TL_GOSYM_H */
