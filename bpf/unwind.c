/*
 * unwind.c - unwinding a copied stack slice by .eh_frame (unwind.h).
 *
 * libdwfl unwinds a thread through three callbacks: the thread, its
 * registers, and reads of its memory. Here the thread is the one that made
 * the syscall, its registers those the BPF side saved, and its memory the
 * slice of stack copied at that moment; a read outside the slice fails,
 * which ends the unwinding there (it needs nothing but the stack). The
 * objects and their .eh_frame come from /proc/PID/maps, reported again
 * after the target loads or unloads one.
 */
#include "unwind.h"
#include "procfs.h"
#include "record.h"

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DWARF register numbers on x86-64. */
enum { R_RBX = 3, R_RBP = 6, R_RSP = 7, R_R12 = 12, R_R13, R_R14, R_R15, R_RIP = 16 };

struct tlr_unwinder {
	pid_t pid;
	const struct tlr_modules *mods;
	Dwfl *dwfl;
	bool stale;
	/* The unwind in progress. */
	pid_t tid;
	const struct tlr_slice *s;
	uint32_t nstack;
	uint64_t *frames;
	uint32_t n, max;
	Dwfl_Module *first; /* the module of the frame the syscall was made in */
};

static char *debuginfo_path;

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_arg)
{
	struct tlr_unwinder *u = arg;

	(void)dwfl;
	if (*thread_arg)
		return 0;
	*thread_arg = u;
	return u->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_arg)
{
	struct tlr_unwinder *u = arg;

	(void)dwfl;
	*thread_arg = u;
	return tid == u->tid;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct tlr_unwinder *u = arg;
	uint64_t sp = u->s->sp;

	(void)dwfl;
	if (addr < sp || addr - sp > u->nstack - sizeof(*result) || u->nstack < sizeof(*result))
		return false;
	memcpy(result, u->s->stack + (addr - sp), sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct tlr_unwinder *u = arg;
	const struct tlr_slice *s = u->s;
	Dwarf_Word bx = s->bx, bp_sp[2] = {s->bp, s->sp}, r12_15[4] = {s->r12, s->r13, s->r14,
									s->r15};

	dwfl_thread_state_register_pc(thread, s->ip);
	return dwfl_thread_state_registers(thread, R_RBX, 1, &bx) &&
	       dwfl_thread_state_registers(thread, R_RBP, 2, bp_sp) &&
	       dwfl_thread_state_registers(thread, R_R12, 4, r12_15);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

struct tlr_unwinder *tlr_unwinder_new(pid_t pid, const struct tlr_modules *mods)
{
	struct tlr_unwinder *u = calloc(1, sizeof(*u));

	if (u) {
		u->pid = pid;
		u->mods = mods;
		u->stale = true;
	}
	return u;
}

void tlr_unwinder_free(struct tlr_unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	free(u);
}

void tlr_unwinder_stale(struct tlr_unwinder *u)
{
	u->stale = true;
}

/* The first module's ELF: what tells libdwfl the architecture. */
static int first_elf(Dwfl_Module *mod, void **user, const char *name, Dwarf_Addr start,
		     void *arg)
{
	Dwarf_Addr bias;

	(void)user, (void)name, (void)start;
	*(Elf **)arg = dwfl_module_getelf(mod, &bias);
	return *(Elf **)arg ? DWARF_CB_ABORT : DWARF_CB_OK;
}

/* One object, opened where the process sees it (its root), else here. */
static void report(void *arg, const char *path, uint64_t bias)
{
	struct tlr_unwinder *u = arg;
	char at[4200];

	snprintf(at, sizeof(at), "/proc/%d/root%s", (int)u->pid, path);
	if (!dwfl_report_elf(u->dwfl, path, at, -1, bias, false))
		dwfl_report_elf(u->dwfl, path, path, -1, bias, false);
}

/* A new Dwfl with the target's objects as the recorder knows them now. */
static bool refresh(struct tlr_unwinder *u)
{
	Elf *elf = NULL;

	if (u->dwfl)
		dwfl_end(u->dwfl);
	u->stale = false;
	u->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!u->dwfl)
		return false;
	dwfl_report_begin(u->dwfl);
	tlr_modules_each(u->mods, report, u);
	if (dwfl_report_end(u->dwfl, NULL, NULL) != 0 ||
	    dwfl_getmodules(u->dwfl, first_elf, &elf, 0) < 0 || !elf ||
	    !dwfl_attach_state(u->dwfl, elf, u->pid, &thread_callbacks, u)) {
		dwfl_end(u->dwfl);
		u->dwfl = NULL;
		return false;
	}
	return true;
}

static int frame(Dwfl_Frame *state, void *arg)
{
	struct tlr_unwinder *u = arg;
	Dwarf_Addr pc;
	bool activation;
	Dwfl_Module *mod;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	mod = dwfl_addrmodule(u->dwfl, activation ? pc : pc - 1);
	/* The libc function the syscall was made in, and its helpers in the
	 * same object: a call's stack starts at its caller. */
	if (activation || (u->n == 0 && mod && mod == u->first)) {
		if (activation)
			u->first = mod;
		return DWARF_CB_OK;
	}
	if (u->n >= u->max)
		return DWARF_CB_ABORT;
	u->frames[u->n++] = pc;
	return DWARF_CB_OK;
}

uint32_t tlr_unwind(struct tlr_unwinder *u, pid_t tid, const struct tlr_slice *s,
		    uint32_t nstack, uint64_t *frames, uint32_t max)
{
	if ((u->stale || !u->dwfl) && !refresh(u))
		return 0;
	u->tid = tid;
	u->s = s;
	u->nstack = nstack;
	u->frames = frames;
	u->n = 0;
	u->max = max;
	u->first = NULL;
	dwfl_getthread_frames(u->dwfl, tid, frame, u);
	return u->n;
}
