/*
 * symbolize.h - trace addresses to functions, source files and lines,
 * offline, with elfutils libdw.
 *
 * The trace's module records say which object was loaded where and with
 * which build-id. Each object is opened from its recorded path — under
 * --sysroot if given, else in the --debug-dir directories — and trusted
 * only if its build-id matches the recorded one; a mismatch is reported,
 * and its addresses stay "module+offset". Separate debug files are found
 * by build-id and debuglink under /usr/lib/debug and the debug dirs. The
 * network is never used (no debuginfod).
 *
 * Results are cached per address: the memory grows with the distinct
 * addresses of the trace's stacks, not with its length.
 */
#ifndef TL_SYMBOLIZE_H
#define TL_SYMBOLIZE_H

#include "tl_trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tl__sym;

struct tl__sym_opts {
	const char *sysroot;             /* prefix for recorded paths, or NULL */
	const char *const *debug_dirs;   /* more places for binaries and debug files */
	size_t ndebug_dirs;
};

/* @return the symbolizer, or NULL when out of memory. */
struct tl__sym *tl__sym_new(const struct tl__sym_opts *opts);
/* NULL is fine. */
void tl__sym_free(struct tl__sym *s);

/* The traced executable's path (from the process record): the module
 * record with an empty path is this file. */
void tl__sym_set_exe(struct tl__sym *s, const char *exe);

/* Whether module id is loaded (known by a module record, not unloaded). */
bool tl__sym_has_module(const struct tl__sym *s, uint32_t id);

/* Feed module records in trace order. @return 0 or TL_TRACE_E_NOMEM. */
int tl__sym_module(struct tl__sym *s, const struct tl_module *m, int64_t time);
void tl__sym_module_unload(struct tl__sym *s, uint32_t id, int64_t time);

struct tl__frame {
	const char *function; /* NULL if unknown */
	const char *file;     /* source file, absolute when the debug info says so; NULL if unknown */
	int line;             /* 0 if unknown */
	const char *module;   /* the object's recorded path (the executable's for the main one) */
	uint64_t address;     /* the address looked up */
	uint64_t offset;      /* address within the object file: module+offset */
	bool inlined;         /* a call inlined into the frame that follows */
};

/*
 * tl__sym_lookup - the source frames at addr, innermost inlined call first,
 * using the objects loaded at time. is_return: addr is a return address
 * (every frame of a recorded stack), so the call before it is looked up.
 *
 * @return the number of frames written, at least 1 (an address nobody
 *         knows gives one frame with function NULL). Strings live as long
 *         as the symbolizer.
 */
int tl__sym_lookup(struct tl__sym *s, uint64_t addr, bool is_return, int64_t time,
		  struct tl__frame *out, int max);

/* Where an address was at time, as a profile's mapping: the object's
 * loaded segment holding it, in whole pages as /proc/self/maps shows it
 * (id unique per object and segment), with the object's path and build-id
 * in hex. */
struct tl__sym_object {
	uint32_t id;
	uint64_t start, limit, offset;
	const char *path;
	char build_id[2 * TL_MAX_BUILD_ID + 1];
	int64_t time; /* tl__sym_main_object: when it was loaded */
};

/* @return whether addr is in a known object. */
bool tl__sym_object_of(struct tl__sym *s, uint64_t addr, int64_t time, struct tl__sym_object *out);

/* The traced executable's code segment (the module record with an empty
 * path), as tl__sym_object_of() gives it. @return false when the trace
 * described no executable. */
bool tl__sym_main_object(struct tl__sym *s, struct tl__sym_object *out);

/* Something the user should know: an object not found, or found with
 * another build-id. Each is reported once. */
struct tl__sym_problem {
	const char *path;
	const char *what;
};

/* @return the problems so far; the array lives until the next call. */
size_t tl__sym_problems(struct tl__sym *s, const struct tl__sym_problem **out);

#endif /* TL_SYMBOLIZE_H */
