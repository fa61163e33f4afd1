/*
 * goinfo.h - what a Go binary says of itself: the Go version in its build
 * info, found by the build-info magic ("\xff Go buildinf:"), in the
 * .go.buildinfo section or, where the section headers name none (some
 * linkers drop them), in the writable data.
 *
 * timerleak-record uses it to tell the user what it can record of a Go
 * program; the Go probe set will be chosen by it.
 */
#ifndef TL_GOINFO_H
#define TL_GOINFO_H

#include <stdbool.h>

struct tlr_goinfo {
	char version[48]; /* "go1.19.8"; "" when the build info does not say */
};

/*
 * Read the build info of the ELF file at path (for a process:
 * /proc/PID/exe). @return 1 when it is a Go binary (gi filled), 0 when
 * it is not, or a negative errno when it cannot be read. Never trusts the
 * file: a damaged one is "not Go" or an error, never a crash.
 */
int tlr_goinfo_read(const char *path, struct tlr_goinfo *gi);

#endif /* TL_GOINFO_H */
