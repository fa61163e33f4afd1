/*
 * gosym_dump.c - bpf/gosym.c from the command line, for tests/gosym_test.py
 * to hold against Go's own tools (go tool nm, go tool addr2line).
 *
 *   gosym_dump BINARY          "layout L nfunc N", then "ENTRY NAME" per function
 *   gosym_dump BINARY PC...    "PC FUNC FILE:LINE" per PC (hex), "?" where unknown
 *   gosym_dump BINARY -n NAME  "ENTRY" of the function, or exit 1
 *   gosym_dump BINARY -p NAME  "ENTRY OFFSET": where a uprobe goes in it,
 *                              or exit 1 with why not
 *   gosym_dump BINARY -i [GODEBUG]  "version V source S default D async A":
 *                              the build info (goinfo.c), S "buildinfo" or
 *                              "strings", D DefaultGODEBUG's asynctimerchan
 *                              (-1 unset), A the mode under GODEBUG
 *
 * Exit status 1 with the reader's message when the table cannot be read.
 */
#include "goinfo.h"
#include "gosym.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct tlr_gosym *g;
	int err = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: gosym_dump BINARY [PC... | -f PC... | -n NAME | -p NAME | -i [GODEBUG]]\n");
		return 2;
	}
	if (argc >= 3 && strcmp(argv[2], "-i") == 0) {
		struct tlr_goinfo gi;
		int r = tlr_goinfo_read(argv[1], &gi);

		if (r != 1) {
			fprintf(stderr, "gosym_dump: %s: %s\n", argv[1],
				r == 0 ? "not a Go binary" : tlr_gosym_strerror(r));
			return 1;
		}
		printf("version %s source %s default %d async %d\n", gi.version[0] ? gi.version : "?",
		       gi.from_strings ? "strings" : "buildinfo", gi.async_default,
		       tlr_goinfo_async_timers(&gi, argc > 3 ? argv[3] : NULL));
		return 0;
	}
	if (!(g = tlr_gosym_open(argv[1], &err))) {
		fprintf(stderr, "gosym_dump: %s: %s\n", argv[1], tlr_gosym_strerror(err));
		return 1;
	}
	if (argc == 2) {
		const char *name;
		uint64_t entry;

		printf("layout %s nfunc %zu\n", tlr_gosym_layout(g), tlr_gosym_nfuncs(g));
		for (size_t i = 0; tlr_gosym_func(g, i, &name, &entry); i++)
			printf("%" PRIx64 " %s\n", entry, name);
	} else if (argc == 4 && strcmp(argv[2], "-p") == 0) {
		uint64_t entry;
		unsigned off;
		int e;

		if (!tlr_gosym_lookup(g, argv[3], &entry)) {
			tlr_gosym_close(g);
			return 1;
		}
		if ((e = tlr_gosym_probe_offset(argv[1], entry, &off)) != 0) {
			fprintf(stderr, "gosym_dump: %s: %s\n", argv[3], tlr_gosym_strerror(e));
			tlr_gosym_close(g);
			return 1;
		}
		printf("%" PRIx64 " %u\n", entry, off);
	} else if (argc == 4 && strcmp(argv[2], "-n") == 0) {
		uint64_t entry;

		if (!tlr_gosym_lookup(g, argv[3], &entry)) {
			tlr_gosym_close(g);
			return 1;
		}
		printf("%" PRIx64 "\n", entry);
	} else if (argc >= 4 && strcmp(argv[2], "-f") == 0) {
		for (int i = 3; i < argc; i++) {
			struct tlr_gosym_pc f[16];
			uint64_t v = strtoull(argv[i], NULL, 16);
			int n = tlr_gosym_frames(g, v, f, 16);

			printf("%" PRIx64, v);
			for (int k = 0; k < n; k++)
				printf(" %s %s:%d%s", f[k].func, f[k].file ? f[k].file : "?", f[k].line,
				       k + 1 < n ? " <-" : "");
			printf("%s\n", n ? "" : " ? ?:0");
		}
	} else {
		for (int i = 2; i < argc; i++) {
			struct tlr_gosym_pc pc;
			uint64_t v = strtoull(argv[i], NULL, 16);

			if (tlr_gosym_pc(g, v, &pc))
				printf("%" PRIx64 " %s %s:%d\n", v, pc.func, pc.file ? pc.file : "?",
				       pc.line);
			else
				printf("%" PRIx64 " ? ?:0\n", v);
		}
	}
	tlr_gosym_close(g);
	return 0;
}
