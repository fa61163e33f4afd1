/*
 * goinfo.h - what a Go binary says of itself: its Go version and the
 * default GODEBUG settings it was built with, from its build info.
 *
 * The build info is found by its magic ("\xff Go buildinf:"), in the
 * .go.buildinfo section or, where the section headers name none, in the
 * writable data. Some release builds zero that header (esbuild's): then a
 * binary with a Go symbol table (.gopclntab) is still Go, its version is
 * the runtime's build version string ("go1.26.5" among the read-only
 * data), and its settings are in the module info, which the linker wraps
 * in fixed sentinels wherever it lies.
 *
 * timerleak-record says what it can record of a Go program with it, and
 * will choose the Go probe set by it.
 */
#ifndef TL_GOINFO_H
#define TL_GOINFO_H

#include <stdbool.h>

struct tlr_goinfo {
	char version[48];  /* "go1.19.8"; "" when the binary does not say */
	int major, minor;  /* 1 and 19 for go1.19.8; 0 when unknown */
	bool from_strings; /* the version was found among the strings, not the build info */
	int async_default; /* DefaultGODEBUG's asynctimerchan: 0, 1, or -1 when it is not set */
};

/*
 * Read what the ELF file at path (for a process: /proc/PID/exe) says of
 * itself. @return 1 when it is a Go binary (gi filled), 0 when it is not,
 * or a negative errno when it cannot be read. Never trusts the file: a
 * damaged one is "not Go" or an error, never a crash.
 */
int tlr_goinfo_read(const char *path, struct tlr_goinfo *gi);

/*
 * Whether the program's timer channels are asynchronous (Go 1.22 and
 * before, or asynctimerchan=1): godebug is the process's GODEBUG (NULL if
 * unset), whose last asynctimerchan= wins over the build's default.
 * @return 1 async, 0 sync (Go 1.23's), -1 unknown (no version).
 */
int tlr_goinfo_async_timers(const struct tlr_goinfo *gi, const char *godebug);

#endif /* TL_GOINFO_H */
