/*
 * main.c - timerleak-report, the offline analyzer: options, opening the
 * trace, the one streaming pass, messages and exit codes. What it prints
 * lives in one file per output (report_text.c, report_json.c, events.c).
 *
 * Exit codes: 0 when the trace was read (a truncated or damaged trace is
 * still read up to what survives, with a warning on stderr) and, with
 * --fail-on, no finding of that severity or worse was made; 1 when such a
 * finding was made, or the output could not be written; 2 for a usage
 * error or an unusable input (a missing file, not a trace, an empty file,
 * a newer major version, a trace without a single readable record).
 */
#include "analysis.h"
#include "detect.h"
#include "events.h"
#include "feed.h"
#include "live.h"
#include "grow.h"
#include "idmap.h"
#include "outfile.h"
#include "pipe.h"
#include "pprof_out.h"
#include "report.h"
#include "suppress.h"
#include "symbolize.h"
#include "timeline.h"
#include "tl_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef TL_VERSION
#define TL_VERSION "unknown"
#endif

#define EXIT_UNUSABLE 2

#define MAX_DEBUG_DIRS 16

static struct env {
	bool events;      /* --events: print every record */
	bool json;        /* --json: the report as JSON */
	int fail_on;      /* --fail-on: exit 1 on a finding this severe, -1 never */
	const char *sysroot;
	const char *debug_dirs[MAX_DEBUG_DIRS];
	size_t ndebug_dirs;
	struct tl__detect_opts detect;
	int progress;     /* -1 never, 1 always, 0 on a terminal for large traces */
	const char *pprof;    /* --pprof: write a profile here */
	const char *timeline; /* --timeline: write Chrome trace JSON here */
	int64_t at_ns;        /* --at: seconds from the start, as ns (INT64_MAX: the end) */
	uint64_t at_snapshot; /* --at snapshot:N */
	const char *suppress; /* --suppress: accepted findings */
	const char *serve;    /* --serve: follow the trace and serve /metrics here */
	const char *path; /* the trace */
	char **paths;     /* --serve: every trace given */
	int npaths;
} env = {.fail_on = -1, .at_ns = INT64_MAX};

static const char usage[] =
	"Usage: timerleak-report [options] TRACE\n"
	"\n"
	"Read a timerleak trace (.tlk), rebuild every timer's life, and report the\n"
	"leak patterns it shows, most severe first.\n"
	"\n"
	"  --json               the report as JSON (docs/report-json.md)\n"
	"  --fail-on=SEVERITY   exit 1 if a finding is at least this severe:\n"
	"                       leak, or warning (leaks and warnings)\n"
	"  --pprof=FILE         also write a gzip'ed profile that go tool pprof reads\n"
	"                       like a Go heap profile (-inuse_space, -alloc_space, ...)\n"
	"  --at=WHEN            the moment --pprof's inuse values are taken: seconds\n"
	"                       from the start, snapshot:N (the N-th snapshot signal),\n"
	"                       or end (the default)\n"
	"  --timeline=FILE      also write live timers over time as Chrome trace JSON,\n"
	"                       for ui.perfetto.dev or chrome://tracing\n"
	"  --events             print every record of the trace instead, one per line\n"
	"  --serve=HOST:PORT    follow the trace (or several: TRACE...) as its recorder\n"
	"                       writes it, and serve its metrics at\n"
	"                       http://HOST:PORT/metrics for Prometheus until\n"
	"                       interrupted (docs/metrics.md)\n"
	"  --sysroot=DIR        look for the traced binaries under DIR\n"
	"  --debug-dir=DIR      also look for binaries and debug files in DIR\n"
	"                       (by name, path and build-id; may be repeated)\n"
	"  --suppress=FILE      leave out the findings FILE's rules accept, from the\n"
	"                       report and from --fail-on (docs/suppressions.md)\n"
	"  --min-count=N        growth after start-up that makes a leak of what a site\n"
	"                       left at the end (default 3; docs/detectors.md)\n"
	"  --progress, --no-progress\n"
	"                       show (or not) progress on stderr; by default only on\n"
	"                       a terminal and for traces over 16 MiB\n"
	"  --help               print this help and exit\n"
	"  --version            print the version and exit\n"
	"\n"
	"Exit status: 0 when the trace was read (a truncated or damaged trace is read\n"
	"up to what survives, with a warning) and no --fail-on finding was made; 1 for\n"
	"such a finding, or when an output (the report, --pprof, --timeline) could not\n"
	"be written; 2 for a usage error (an output naming the trace itself, --at past\n"
	"the trace's end or without --pprof, a bad --suppress file) or a file that\n"
	"cannot be used as a trace.\n";

enum { OPT_SYSROOT = 256, OPT_DEBUG_DIR, OPT_MIN_COUNT, OPT_FAIL_ON, OPT_PROGRESS,
       OPT_NO_PROGRESS, OPT_PPROF, OPT_AT, OPT_TIMELINE, OPT_SUPPRESS, OPT_SERVE };

static const struct option long_options[] = {
	{"events", no_argument, NULL, 'e'},
	{"json", no_argument, NULL, 'j'},
	{"fail-on", required_argument, NULL, OPT_FAIL_ON},
	{"sysroot", required_argument, NULL, OPT_SYSROOT},
	{"debug-dir", required_argument, NULL, OPT_DEBUG_DIR},
	{"min-count", required_argument, NULL, OPT_MIN_COUNT},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"pprof", required_argument, NULL, OPT_PPROF},
	{"at", required_argument, NULL, OPT_AT},
	{"timeline", required_argument, NULL, OPT_TIMELINE},
	{"suppress", required_argument, NULL, OPT_SUPPRESS},
	{"serve", required_argument, NULL, OPT_SERVE},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
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

static int check_outputs(void);

/* --at: "end", "snapshot:N" or seconds. @return -1 to go on, or an exit code. */
static int parse_at(const char *arg)
{
	char *end;
	double secs;

	if (strcmp(arg, "end") == 0)
		return -1;
	if (strncmp(arg, "snapshot:", 9) == 0) {
		env.at_snapshot = strtoull(arg + 9, &end, 10);
		if (*end || env.at_snapshot < 1)
			return usage_error("--at snapshot:N needs N >= 1, not ", arg);
		return -1;
	}
	secs = strtod(arg, &end);
	if (*end || !(secs >= 0) || secs > 1e9)
		return usage_error("--at takes seconds, snapshot:N or end, not ", arg);
	env.at_ns = (int64_t)(secs * 1e9);
	return -1;
}

/* One option with an argument. @return -1 to go on, or an exit code. */
static int parse_value(int c, const char *arg)
{
	char *end;
	unsigned long n;

	switch (c) {
	case OPT_FAIL_ON:
		if (strcmp(arg, "leak") == 0)
			env.fail_on = TL_SEV_LEAK;
		else if (strcmp(arg, "warning") == 0)
			env.fail_on = TL_SEV_WARNING;
		else
			return usage_error("--fail-on takes leak or warning, not ", arg);
		return -1;
	case OPT_SYSROOT:
		env.sysroot = arg;
		return -1;
	case OPT_DEBUG_DIR:
		if (env.ndebug_dirs == MAX_DEBUG_DIRS)
			return usage_error("too many --debug-dir options", NULL);
		env.debug_dirs[env.ndebug_dirs++] = arg;
		return -1;
	case OPT_PPROF:
		env.pprof = arg;
		return -1;
	case OPT_TIMELINE:
		env.timeline = arg;
		return -1;
	case OPT_SUPPRESS:
		env.suppress = arg;
		return -1;
	case OPT_SERVE:
		env.serve = arg;
		return -1;
	case OPT_AT:
		return parse_at(arg);
	case OPT_MIN_COUNT:
		n = strtoul(arg, &end, 10);
		if (*end || n < 1 || n > 1000000)
			return usage_error("--min-count takes a number from 1 to 1000000, not ", arg);
		env.detect.min_count = n;
		return -1;
	default:
		return -1;
	}
}

/* @return -1 to go on, or the exit code (help, version, usage error). */
static int parse_args(int argc, char **argv)
{
	int c, r;

	tl__detect_defaults(&env.detect);
	opterr = 0; /* getopt's messages name argv[0], a path; ours name the tool */
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (c) {
		case 'e':
			env.events = true;
			break;
		case 'j':
			env.json = true;
			break;
		case OPT_PROGRESS:
			env.progress = 1;
			break;
		case OPT_NO_PROGRESS:
			env.progress = -1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("timerleak-report %s (trace format %d.%d)\n", TL_VERSION,
			       TL_TRACE_MAJOR, TL_TRACE_MINOR);
			return 0;
		case '?':
			/* A known long option with a bad argument sets optopt to
			 * its value; short options are all unknown here. */
			if (optopt && strncmp(argv[optind - 1], "--", 2) == 0)
				return usage_error("option needs an argument or takes none: ",
						   argv[optind - 1]);
			return usage_error("unknown option ", argv[optind - 1]);
		default:
			if ((r = parse_value(c, optarg)) >= 0)
				return r;
			break;
		}
	}
	if (optind == argc)
		return usage_error("no trace file given", NULL);
	if (optind != argc - 1 && !env.serve)
		return usage_error("more than one trace file given (--serve follows several)", NULL);
	env.path = argv[optind];
	env.paths = argv + optind;
	env.npaths = argc - optind;
	if ((env.at_ns != INT64_MAX || env.at_snapshot) && !env.pprof)
		return usage_error("--at picks the moment of --pprof's in-use values: give --pprof "
				   "too", NULL);
	return check_outputs();
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
	/* No end record and no damage: the process was killed without a
	 * chance to write its last events (kill -9), or is still being
	 * recorded. Common for services, and not damage: a note. */
	if (s->truncated && (s->bad_chunks || s->skipped_bytes))
		fprintf(stderr,
			"timerleak-report: warning: %s: the trace is truncated (it has no end "
			"record): what was recorded after its last whole chunk is lost\n",
			path);
	else if (s->truncated)
		fprintf(stderr,
			"timerleak-report: note: %s: the trace has no end record (the process was "
			"killed without warning, or is still being recorded): it is read up to its "
			"last chunk\n",
			path);
	if (s->trailing_bytes)
		fprintf(stderr,
			"timerleak-report: warning: %s: %" PRIu64 " bytes after the trace's end "
			"record, from byte %" PRIu64 ", are not part of it (another trace appended "
			"to it?): they were not read\n",
			path, s->trailing_bytes, s->trailing_offset);
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
	int err = tl__events_print(r, stdout);

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

/* ---------------------------------------------------------------------------
 * The report: one pass feeding the symbolizer and the analysis.
 */

struct progress {
	bool on;
	uint64_t total;
	int64_t next; /* when to draw again */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void progress_init(struct progress *p)
{
	struct stat st;

	p->total = stat(env.path, &st) == 0 ? (uint64_t)st.st_size : 0;
	p->on = env.progress > 0 ||
		(env.progress == 0 && isatty(STDERR_FILENO) && p->total > (16u << 20));
	p->next = now_ns() + 200000000;
}

static void progress_draw(struct progress *p, uint64_t file_bytes, bool last)
{
	int64_t t;

	if (!p->on || (!last && (t = now_ns()) < p->next))
		return;
	p->next = now_ns() + 200000000;
	if (last)
		fprintf(stderr, "\r%60s\r", "");
	else
		fprintf(stderr, "\rtimerleak-report: reading %s: %3.0f%%", env.path,
			p->total ? 100.0 * (double)file_bytes / (double)p->total : 0.0);
}

/*
 * Every record to the symbolizer's module map and the analysis. With two
 * CPUs or more the trace is decoded on a thread of its own (pipe.h), which
 * makes the report about 1.5-2x faster; else, or when no thread can be
 * made, here.
 */
static int feed(struct tl_trace_reader *r, struct tl__analysis *a, struct tl__sym *sym)
{
	struct tl__pipe *pipe = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? tl__pipe_start(r) : NULL;
	struct tl_trace_reader_stats st;
	struct progress prog;
	struct tl_record own;
	const struct tl_record *rec = &own, *ahead;
	struct tl__feed sites = {0};
	uint64_t n = 0;
	int got, err = 0;

	progress_init(&prog);
	while ((got = pipe ? tl__pipe_next(pipe, &rec) : tl_trace_reader_next(r, &own)) > 0) {
		if (pipe && (ahead = tl__pipe_peek(pipe, 8)) != NULL)
			tl__an_prefetch(a, ahead);
		if ((err = tl__feed_one(&sites, rec, a, sym)) != 0)
			break;
		if ((++n & 0xffff) == 0 && prog.on) {
			if (!pipe)
				tl_trace_reader_stats(r, &st);
			progress_draw(&prog, pipe ? tl__pipe_file_bytes(pipe) : st.file_bytes,
				      false);
		}
	}
	tl__pipe_stop(pipe);
	tl__feed_free(&sites);
	progress_draw(&prog, 0, true);
	return err ? err : got;
}

static void report_problems(struct tl__sym *sym)
{
	const struct tl__sym_problem *p;
	size_t n = tl__sym_problems(sym, &p);

	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "timerleak-report: note: %s: %s\n", p[i].path, p[i].what);
}

static int write_report(struct tl__report *rep)
{
	int ret = 0;

	if ((env.json ? tl__report_json(rep, stdout) : tl__report_text(rep, stdout)) != 0) {
		fprintf(stderr, "timerleak-report: cannot write the output: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; env.fail_on >= 0 && i < rep->nfindings; i++)
		if (rep->findings[i].severity >= env.fail_on)
			ret = 1;
	return ret;
}

/* An output file, whole or not at all (outfile.h). @return 0, or -1 with
 * the message printed. */
static int write_output(const char *path, int (*write)(const struct tl__report *, int),
			const struct tl__report *rep)
{
	struct tl__outfile o;
	int err = tl__outfile_open(&o, path);

	if (!err) {
		err = write(rep, o.fd);
		err = err ? err : tl__outfile_commit(&o);
		tl__outfile_abort(&o);
	}
	if (!err)
		return 0;
	fprintf(stderr, "timerleak-report: cannot write %s: %s\n", path, strerror(-err));
	return -1;
}

/* An output that would overwrite the input, or another output, is a
 * mistake in the command line: refused before anything is read. */
static int check_outputs(void)
{
	struct stat in, pp;

	if (stat(env.path, &in) == 0) {
		if (env.pprof && tl__outfile_is(env.pprof, &in))
			return usage_error("--pprof names the trace itself, which it would overwrite: ",
					   env.pprof);
		if (env.timeline && tl__outfile_is(env.timeline, &in))
			return usage_error(
				"--timeline names the trace itself, which it would overwrite: ",
				env.timeline);
	}
	if (env.pprof && env.timeline &&
	    (strcmp(env.pprof, env.timeline) == 0 ||
	     (stat(env.pprof, &pp) == 0 && tl__outfile_is(env.timeline, &pp))))
		return usage_error("--pprof and --timeline name the same file: ", env.timeline);
	return -1;
}

static int run_report(struct tl_trace_reader *r)
{
	struct tl__sym_opts so = {env.sysroot, env.debug_dirs, env.ndebug_dirs};
	struct tl_trace_reader_stats st;
	struct tl__sym *sym = tl__sym_new(&so);
	struct tl__analysis *a = tl__an_new();
	struct tl__finding *findings = NULL, *suppressed = NULL;
	struct tl__suppress *rules = NULL;
	char why[512];
	size_t nsup = 0;
	struct tl__report rep = {0};
	ssize_t nf;
	int err, ret = EXIT_UNUSABLE;

	if (!sym || !a) {
		fprintf(stderr, "timerleak-report: out of memory\n");
		goto cleanup;
	}
	if (env.suppress && !(rules = tl__suppress_load(env.suppress, why, sizeof(why)))) {
		fprintf(stderr, "timerleak-report: --suppress: %s\n", why);
		goto cleanup;
	}
	if (env.at_snapshot)
		tl__an_at_snapshot(a, env.at_snapshot);
	else
		tl__an_at(a, env.at_ns);
	err = feed(r, a, sym);
	tl_trace_reader_stats(r, &st);
	if (err < 0) {
		fprintf(stderr, "timerleak-report: %s: reading stopped at byte %" PRIu64 ": %s\n",
			env.path, st.file_bytes, tl_trace_strerror(err));
		goto cleanup;
	}
	report_damage(env.path, &st);
	if (st.records == 0) {
		fprintf(stderr, "timerleak-report: %s: no readable record in the trace\n", env.path);
		goto cleanup;
	}
	tl__an_finish(a, &st);
	if (env.at_ns != INT64_MAX && env.at_ns > tl__an_since(a->end_time, a->proc.start)) {
		fprintf(stderr, "timerleak-report: %s: --at %.3f is past the trace's end (%.3f s)\n",
			env.path, (double)env.at_ns / 1e9, tl__an_secs(a, a->end_time));
		goto cleanup;
	}
	if (tl__an_at_missed(a)) {
		fprintf(stderr, "timerleak-report: %s: --at snapshot:%" PRIu64 ": the trace has %zu "
				"snapshot%s\n",
			env.path, env.at_snapshot, a->nsnapshots, a->nsnapshots == 1 ? "" : "s");
		goto cleanup;
	}
	rep = (struct tl__report){.path = env.path, .a = a, .sym = sym, .st = &st, .max_frames = 6,
				 .suppress_path = env.suppress};
	nf = tl__detect(a, &env.detect, tl__report_leaf_name, &rep, &findings);
	if (nf < 0) {
		fprintf(stderr, "timerleak-report: out of memory\n");
		goto cleanup;
	}
	rep.nfindings = (size_t)nf;
	if (tl__suppress_split(rules, &rep, findings, &rep.nfindings, &suppressed, &nsup) != 0) {
		fprintf(stderr, "timerleak-report: out of memory\n");
		goto cleanup;
	}
	rep.findings = findings;
	rep.suppressed = suppressed;
	rep.nsuppressed = nsup;
	ret = write_report(&rep);
	if (env.pprof && write_output(env.pprof, tl__pprof_out_write, &rep) != 0)
		ret = 1;
	if (env.timeline && write_output(env.timeline, tl__timeline_write, &rep) != 0)
		ret = 1;
	report_problems(sym);
cleanup:
	tl__suppress_free(rules);
	free(suppressed);
	free(findings);
	tl__an_free(a);
	tl__sym_free(sym);
	return ret;
}

/* ---------------------------------------------------------------------------
 * --serve: the trace followed as it is written, its metrics served
 */

static volatile sig_atomic_t serve_stop;

static void on_serve_stop(int sig)
{
	(void)sig;
	serve_stop = 1;
}

/* --serve: the traces are read by the live server, not here */
static int run_serve(void)
{
	struct tl__sym_opts so = {env.sysroot, env.debug_dirs, env.ndebug_dirs};
	struct sigaction sa = {.sa_handler = on_serve_stop};
	struct tl__live *l;
	char why[256];
	int err;

	if (!(l = tl__live_open(env.serve, &so, why, sizeof(why)))) {
		fprintf(stderr, "timerleak-report: --serve=%s\n", why);
		return EXIT_UNUSABLE;
	}
	for (int i = 0; i < env.npaths; i++)
		if (tl__live_add(l, env.paths[i]) != 0) {
			fprintf(stderr, "timerleak-report: out of memory\n");
			tl__live_close(l);
			return EXIT_UNUSABLE;
		}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "timerleak-report: following %s%s; metrics at http://%.*s:%d/metrics\n",
		env.path, env.npaths > 1 ? " and the others" : "",
		(int)(strrchr(env.serve, ':') - env.serve), env.serve, tl__live_port(l));
	while (!serve_stop) {
		struct pollfd p = {tl__live_fd(l), POLLIN, 0};
		const char *path = NULL;

		/* A trace that stops being readable is served from what was
		 * read; one that had nothing readable is dropped, and with it
		 * the last one, the server. */
		if ((err = tl__live_step(l, &path)) != 0) {
			bool some = tl__live_records(l, path) > 0;

			fprintf(stderr, "timerleak-report: %s: %s%s\n", path, tl_trace_strerror(err),
				some ? "; serving what was read" : "");
			if (!some) {
				tl__live_remove(l, path);
				if (!tl__live_count(l)) {
					tl__live_close(l);
					return EXIT_UNUSABLE;
				}
			}
			continue;
		}
		poll(&p, 1, tl__live_busy(l) ? 5 : 250);
	}
	tl__live_close(l);
	return 0;
}

int main(int argc, char **argv)
{
	struct tl_trace_reader *r = NULL;
	int err, ret;

	ret = parse_args(argc, argv);
	if (ret >= 0)
		goto cleanup;
	if (env.serve) { /* the file may not be a trace yet: the server waits */
		ret = run_serve();
		goto cleanup;
	}
	r = tl_trace_reader_open(env.path, &err);
	if (!r) {
		report_open_error(env.path, err, errno);
		ret = EXIT_UNUSABLE;
		goto cleanup;
	}
	ret = env.events ? run_events(r) : run_report(r);
cleanup:
	tl_trace_reader_close(r);
	return ret;
}
