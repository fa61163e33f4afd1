/*
 * main.c - timerleak-report, the offline analyzer: options, opening the
 * trace, messages and exit codes. What it prints lives in one file per
 * output (events.c for --events).
 *
 * Exit codes: 0 when the trace was read (a truncated or damaged trace is
 * still read up to what survives, with a warning on stderr); 1 when the
 * output could not be written; 2 for a usage error or an unusable input (a
 * missing file, not a trace, an empty file, a newer major version, a
 * trace without a single readable record).
 */
#include "events.h"
#include "tl_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TL_VERSION
#define TL_VERSION "unknown"
#endif

#define EXIT_UNUSABLE 2

static struct env {
	bool events;      /* --events: print every record */
	const char *path; /* the trace */
} env;

static const char usage[] =
	"Usage: timerleak-report --events FILE\n"
	"\n"
	"Read a timerleak trace (.tlk) and report on it.\n"
	"\n"
	"  --events     print every record of the trace, one per line, then a summary\n"
	"  --help       print this help and exit\n"
	"  --version    print the version and exit\n"
	"\n"
	"Exit status: 0 when the trace was read (a truncated or damaged trace is read\n"
	"up to what survives, with a warning); 1 when the output could not be written;\n"
	"2 for a usage error or a file that cannot be used as a trace.\n";

static const struct option long_options[] = {
	{"events", no_argument, NULL, 'e'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "timerleak-report: %s%s\nTry 'timerleak-report --help' for more information.\n",
		what, arg ? arg : "");
	return EXIT_UNUSABLE;
}

/* @return -1 to go on, or the exit code (help, version, usage error). */
static int parse_args(int argc, char **argv)
{
	int c;

	opterr = 0; /* getopt's messages name argv[0], a path; ours name the tool */
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (c) {
		case 'e':
			env.events = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("timerleak-report %s (trace format %d.%d)\n", TL_VERSION,
			       TL_TRACE_MAJOR, TL_TRACE_MINOR);
			return 0;
		default:
			return usage_error("unknown option ", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error("no trace file given", NULL);
	if (optind != argc - 1)
		return usage_error("more than one trace file given", NULL);
	env.path = argv[optind];
	if (!env.events)
		return usage_error("only --events is implemented so far", NULL);
	return -1;
}

/* The message for a trace refused as newer: it names both versions, which
 * only the file's header has. */
static void report_newer(const char *path)
{
	unsigned char h[TL_TRACE_FILE_HEADER];
	struct tl_trace_info info = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, h, sizeof(h)) : -1;

	if (fd >= 0)
		close(fd);
	if (n == (ssize_t)sizeof(h))
		tl_trace_header_parse(h, sizeof(h), &info);
	fprintf(stderr,
		"timerleak-report: %s: trace format version %u.%u is newer than this reader "
		"(%d.x); upgrade timerleak\n",
		path, info.major, info.minor, TL_TRACE_MAJOR);
}

static void report_open_error(const char *path, int err, int saved_errno)
{
	struct stat st;

	switch (err) {
	case TL_TRACE_E_IO:
		fprintf(stderr, "timerleak-report: %s: cannot read: %s\n", path,
			strerror(saved_errno));
		break;
	case TL_TRACE_E_NEWER_VERSION:
		report_newer(path);
		break;
	case TL_TRACE_E_SHORT_HEADER:
		if (stat(path, &st) == 0 && st.st_size == 0)
			fprintf(stderr, "timerleak-report: %s: the file is empty\n", path);
		else
			fprintf(stderr,
				"timerleak-report: %s: the file ends inside its %d-byte trace header "
				"(the trace was cut short before anything was recorded)\n",
				path, TL_TRACE_FILE_HEADER);
		break;
	default:
		fprintf(stderr, "timerleak-report: %s: %s\n", path, tl_trace_strerror(err));
		break;
	}
}

/* Warnings for a trace that was read, but not whole. */
static void report_damage(const char *path, const struct tl_trace_reader_stats *s)
{
	if (s->bad_chunks)
		fprintf(stderr,
			"timerleak-report: warning: %s: skipped %" PRIu64 " damaged chunk%s "
			"(%" PRIu64 " bytes); the first at byte %" PRIu64 ": %s\n",
			path, s->bad_chunks, s->bad_chunks == 1 ? "" : "s", s->skipped_bytes,
			s->first_error_offset, tl_trace_strerror(s->first_error));
	if (s->truncated)
		fprintf(stderr,
			"timerleak-report: warning: %s: the trace is truncated (it has no end "
			"record): what was recorded after its last whole chunk is lost\n",
			path);
	if (s->unknown_records)
		fprintf(stderr,
			"timerleak-report: note: %s: skipped %" PRIu64 " records of trace format "
			"%u.%u that this reader (%d.%d) does not know\n",
			path, s->unknown_records, s->major, s->minor, TL_TRACE_MAJOR,
			TL_TRACE_MINOR);
}

/* --events: print, then judge what was read. @return the exit code. */
static int run_events(struct tl_trace_reader *r)
{
	struct tl_trace_reader_stats st;
	int err = tl_events_print(r, stdout);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "timerleak-report: cannot write the output: %s\n", strerror(errno));
		return 1;
	}
	tl_trace_reader_stats(r, &st);
	if (err) {
		fprintf(stderr, "timerleak-report: %s: reading stopped at byte %" PRIu64 ": %s%s%s\n",
			env.path, st.file_bytes, tl_trace_strerror(err), err == TL_TRACE_E_IO ? ": " : "",
			err == TL_TRACE_E_IO ? strerror(errno) : "");
		return EXIT_UNUSABLE;
	}
	report_damage(env.path, &st);
	if (st.records == 0) {
		fprintf(stderr, "timerleak-report: %s: no readable record in the trace\n", env.path);
		return EXIT_UNUSABLE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tl_trace_reader *r = NULL;
	int err, ret;

	ret = parse_args(argc, argv);
	if (ret >= 0)
		goto cleanup;
	r = tl_trace_reader_open(env.path, &err);
	if (!r) {
		report_open_error(env.path, err, errno);
		ret = EXIT_UNUSABLE;
		goto cleanup;
	}
	ret = run_events(r);
cleanup:
	tl_trace_reader_close(r);
	return ret;
}
