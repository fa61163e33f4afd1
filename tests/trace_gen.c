/*
 * trace_gen - write the traces of trace_workload.h to files, for the CLI
 * tests and the fuzzer's seed corpus.
 *
 *   trace_gen small FILE [SHIFT]                    every record type, fixed values
 *   trace_gen workload FILE EVENTS [SHIFT [SEED]]   the realistic mix
 *   trace_gen seeds DIR [OLDER.tlk...]              fuzz seeds (see trace_fuzz.c),
 *                                                   with those of older traces
 *
 * FILE "-" is standard output (a pipe, in the tests). Exit 0, or 1 with a
 * message.
 */
#include "internal.h"
#include "trace_workload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

static int open_out(const char *path)
{
	if (strcmp(path, "-") == 0)
		return STDOUT_FILENO;
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
}

enum what { SMALL, WORKLOAD };

/* Write one trace to fd. @return 0 or a TL_TRACE_E_* error. */
static int gen(int fd, enum what what, unsigned shift, uint64_t events, uint64_t seed)
{
	struct tl_trace_writer_opts o = {.time_shift = shift};
	struct tl_workload_opts wo = {.seed = seed, .events = events};
	struct tl_trace_writer *w;
	int err;

	w = tl_trace_writer_new(fd, &o, &err);
	if (!w)
		return err;
	err = what == SMALL ? tl_workload_small(w) : tl_workload_write(w, &wo);
	tl_trace_writer_free(w);
	return err;
}

/* ---------------------------------------------------------------------------
 * Seeds
 */

static int save(const char *dir, const char *name, uint8_t mode, const void *p, size_t n)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wbx");
	if (!f && errno == EEXIST) {
		unlink(path);
		f = fopen(path, "wbx");
	}
	if (!f)
		return -1;
	ok = fputc(mode, f) != EOF && fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* A trace in memory: the writer needs a descriptor. */
static uint8_t *gen_mem(enum what what, unsigned shift, uint64_t events, size_t *len)
{
	int fd = memfd_create("trace", MFD_CLOEXEC);
	struct stat st;
	uint8_t *p = NULL;

	if (fd < 0 || gen(fd, what, shift, events, 7) != 0 || fstat(fd, &st) != 0)
		goto out;
	p = malloc((size_t)st.st_size + 1);
	if (p && pread(fd, p, (size_t)st.st_size, 0) != st.st_size) {
		free(p);
		p = NULL;
	}
	*len = (size_t)st.st_size;
out:
	if (fd >= 0)
		close(fd);
	return p;
}

/* Each chunk's decompressed payload, as a payload-mode seed (mode byte:
 * bit 0 clear, bit 1 set for a 1.x payload, time_shift in the bits above). */
static int save_payloads(const char *dir, const char *stem, const uint8_t *p, size_t n,
			 unsigned shift)
{
	uint8_t mode = (uint8_t)(shift << 2 | (tl__get_le16(p + 8) == 1 ? 2 : 0));
	size_t off = TL_TRACE_FILE_HEADER;
	int i = 0, err = 0;

	while (off + TL__CHUNK_HEADER <= n && !err) {
		struct tl__chunk_header h;
		char name[256];
		uint8_t *raw;

		if (tl__chunk_header_get(p + off, &h) != 0)
			return -1;
		raw = malloc(h.raw_size + 1);
		if (!raw)
			return -1;
		if (ZSTD_decompress(raw, h.raw_size, p + off + TL__CHUNK_HEADER,
				    h.compressed_size) != h.raw_size)
			err = -1;
		snprintf(name, sizeof(name), "%s-payload-%d", stem, i++);
		if (!err)
			err = save(dir, name, mode, raw, h.raw_size);
		free(raw);
		off += TL__CHUNK_HEADER + h.compressed_size;
	}
	return err;
}

/* A trace file given on the command line (one of an older format) as
 * seeds: whole, and each chunk's payload. */
static int seeds_of_file(const char *dir, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct tl_trace_info info;
	uint8_t *p = NULL;
	char name[256];
	long n = -1;
	FILE *f = fopen(path, "rb");
	int err = -1;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n)) && fread(p, 1, (size_t)n, f) == (size_t)n &&
	    tl_trace_header_parse(p, (size_t)n, &info) == 0) {
		snprintf(name, sizeof(name), "%s-file", base);
		err = save(dir, name, 1, p, (size_t)n);
		err = err ? err : save_payloads(dir, base, p, (size_t)n, info.time_shift);
	}
	if (f)
		fclose(f);
	free(p);
	return err;
}

static int seeds(const char *dir)
{
	static const struct {
		const char *stem;
		enum what what;
		unsigned shift;
		uint64_t events;
	} traces[] = {
		{"small", SMALL, 0, 0},
		{"small-shift10", SMALL, 10, 0},
		{"workload", WORKLOAD, 6, 3000},
	};
	int err = 0;

	mkdir(dir, 0700);
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]) && !err; i++) {
		size_t n;
		uint8_t *p = gen_mem(traces[i].what, traces[i].shift, traces[i].events, &n);
		char name[256];

		if (!p)
			return -1;
		snprintf(name, sizeof(name), "%s-file", traces[i].stem);
		err = save(dir, name, 1, p, n);
		/* A cut one too, so the truncated-tail paths start covered. */
		snprintf(name, sizeof(name), "%s-cut", traces[i].stem);
		err = err ? err : save(dir, name, 1, p, n - n / 3);
		err = err ? err : save_payloads(dir, traces[i].stem, p, n, traces[i].shift);
		free(p);
	}
	return err;
}

/* ---------------------------------------------------------------------------
 * main
 */

static int usage(void)
{
	fputs("usage: trace_gen small FILE [SHIFT]\n"
	      "       trace_gen workload FILE EVENTS [SHIFT [SEED]]\n"
	      "       trace_gen seeds DIR [OLDER.tlk...]\n",
	      stderr);
	return 1;
}

int main(int argc, char **argv)
{
	enum what what;
	int fd, err;

	if (argc >= 3 && strcmp(argv[1], "seeds") == 0) {
		err = seeds(argv[2]);
		for (int i = 3; i < argc && !err; i++)
			err = seeds_of_file(argv[2], argv[i]);
		if (err) {
			fprintf(stderr, "trace_gen: %s: cannot write the seeds: %s\n", argv[2],
				strerror(errno));
			return 1;
		}
		return 0;
	}
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "small") == 0)
		what = SMALL;
	else if (argc >= 4 && argc <= 6 && strcmp(argv[1], "workload") == 0)
		what = WORKLOAD;
	else
		return usage();
	fd = open_out(argv[2]);
	if (fd < 0) {
		fprintf(stderr, "trace_gen: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (what == SMALL)
		err = gen(fd, SMALL, argc > 3 ? (unsigned)atoi(argv[3]) : 0, 0, 0);
	else
		err = gen(fd, WORKLOAD, argc > 4 ? (unsigned)atoi(argv[4]) : 0,
			  strtoull(argv[3], NULL, 0), argc > 5 ? strtoull(argv[5], NULL, 0) : 1);
	if (fd != STDOUT_FILENO)
		close(fd);
	if (err) {
		fprintf(stderr, "trace_gen: %s: %s\n", argv[2], tl_trace_strerror(err));
		return 1;
	}
	return 0;
}
