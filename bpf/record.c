/*
 * record.c - timerleak-record: attach to a running process with eBPF and
 * record its timers into a trace, until SIGINT or SIGTERM, a duration, or
 * the process's end; then detach, leaving nothing behind.
 *
 *   timerleak-record -p PID [-d SECONDS] [-o FILE] [--depth N] ...
 *
 * The BPF side (record.bpf.c) sees the target's timer syscalls and
 * libgotimer's hooks; collect.c turns its events into the trace that
 * timerleak-report reads. What the process had before the recording began
 * comes from /proc (procfs.c): its loaded objects, and the timerfds and
 * POSIX timers it had open.
 *
 * Exit status: 0 when a trace was written; 1 when it could not record (the
 * message says why); 2 for a usage error.
 */
#include "collect.h"
#include "goinfo.h"
#include "gosym.h"
#include "live.h"
#include "procfs.h"
#include "record.h"
#include "unwind.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if TL_RECORD_BPF
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include "record.skel.h"
#endif

#ifndef TL_VERSION
#define TL_VERSION "unknown"
#endif

#define FLUSH_MS 200 /* a chunk at least this often, so a killed recorder loses little */
#define TIME_SHIFT 12 /* times in units of 4 us, as the shim's (docs/trace-format.md) */

#define MAX_TARGETS 64 /* processes recorded at once */
#define MAX_EXES 16

static struct env {
	pid_t pids[MAX_TARGETS]; /* -p */
	size_t npids;
	const char *exes[MAX_EXES]; /* -x: every process that runs one, now and later */
	size_t nexes;
	double seconds;    /* 0: until interrupted, or the processes end */
	const char *output; /* the trace; with several targets or -x, their directory */
	unsigned depth;
	unsigned buffer_mb;
	bool force;
	bool quiet;
	const char *serve; /* --serve: metrics of the trace so far, over HTTP */
	uint64_t rotate_bytes; /* --rotate-size: a trace file this big goes on in a new one */
	unsigned keep;     /* --keep: finished files kept per process (0: all) */
} env = {.depth = 64, .buffer_mb = 16};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	fputs("timerleak-record: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: timerleak-record -p PID[,PID...] | -x EXE ... [-d SECONDS] [-o FILE|DIR]\n"
		"                        [options]\n"
		"Attach to running processes with eBPF and record their timers (libgotimer's,\n"
		"Go's in a Go 1.19-1.27 program, timerfds, POSIX timers) with their stacks, until\n"
		"SIGINT or SIGTERM, SECONDS, or the processes' end; then detach. One trace per\n"
		"process; timerleak-report reads them.\n"
		"\n"
		"  -p, --pid PID[,PID]  the processes to record (may be repeated)\n"
		"  -x, --exe EXE        every process running the program EXE, now and as they\n"
		"                       start, until interrupted (may be repeated)\n"
		"  -d, --duration S     stop after S seconds (default: when interrupted)\n"
		"  -o, --output PATH    one process: the trace (default timerleak.NAME.PID.tlk);\n"
		"                       several, or -x: the directory of their traces\n"
		"                       (default .); an existing trace is refused unless --force\n"
		"  -f, --force          replace FILE if it exists\n"
		"      --depth N        frames per stack, 1 to %u (default 64)\n"
		"      --buffer MB      the ring buffer between the kernel and the recorder,\n"
		"                       1 to 1024 MiB, rounded up to a power of two (default\n"
		"                       16): more loses fewer events in bursts\n"
		"      --rotate-size SIZE  when a trace reaches SIZE (64K, 100M, 2G; M if no\n"
		"                       unit), rename it NAME.N.tlk (N = 1, 2, ...) and go\n"
		"                       on in a new one: each file a whole trace of its own\n"
		"                       time (default: one file)\n"
		"      --keep N         with --rotate-size: keep the N newest renamed files of\n"
		"                       each process, remove older ones (default: all)\n"
		"      --serve [HOST:PORT]  serve the recording's metrics for Prometheus at\n"
		"                       http://HOST:PORT/metrics while it records (default\n"
		"                       127.0.0.1:6061; docs/metrics.md)\n"
		"  -q, --quiet          no summary line\n"
		"      --version        the version, and the trace format's\n"
		"  -h, --help           this text\n"
		"\n"
		"Needs root, or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE, and a kernel with BTF.\n"
		"Exit status: 0 when the traces were written, 1 when recording failed, 2 for a\n"
		"usage error.\n",
		TLR_MAX_FRAMES);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "timerleak-record: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(timerleak-record --help for the options)\n");
	return 2;
}

/* A whole number in [lo, hi], or -1. */
static long number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end || v < lo || v > hi ? -1 : v;
}

/* -p PID[,PID...]: added to env.pids, each once. @return 0, or 2 (said). */
static int parse_pids(const char *arg)
{
	char *list = strdup(arg), *save = NULL;
	int ret = list ? 0 : usage_error("%s", "out of memory");
	bool any = false;

	for (char *p = list ? strtok_r(list, ",", &save) : NULL; p && !ret;
	     p = strtok_r(NULL, ",", &save)) {
		long v = number(p, 1, INT_MAX);
		bool dup = false;

		if (v < 0) {
			ret = usage_error("-p takes process ids, not %s", arg);
			break;
		}
		for (size_t k = 0; k < env.npids; k++)
			dup = dup || env.pids[k] == (pid_t)v;
		if (!dup && env.npids == MAX_TARGETS)
			ret = usage_error("-p: at most 64 processes, not %s", arg);
		else if (!dup)
			env.pids[env.npids++] = (pid_t)v;
		any = true;
	}
	free(list);
	return ret ? ret : any ? 0 : usage_error("-p takes process ids, not %s", arg);
}

/* "64K", "10M", "2G", "10" (MiB): bytes from 16 KiB to 1 TiB, or 0. */
static uint64_t size_arg(const char *s)
{
	static const char units[] = "KMG";
	char *end;
	double v;
	const char *u;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0))
		return 0;
	u = *end ? strchr(units, *end) : &units[1];
	if (!u || !*u || (*end && end[1]))
		return 0;
	v *= (double)(1ull << (10 * (u - units + 1)));
	return v < 16384 || v > (double)(1ull << 40) ? 0 : (uint64_t)v;
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"exe", required_argument, NULL, 'x'},
		{"duration", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"depth", required_argument, NULL, 'D'},
		{"buffer", required_argument, NULL, 'B'},
		{"quiet", no_argument, NULL, 'q'},
		{"serve", optional_argument, NULL, 'S'},
		{"rotate-size", required_argument, NULL, 'R'},
		{"keep", required_argument, NULL, 'K'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	long v;

	while ((c = getopt_long(argc, argv, "p:x:d:o:fqh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pids(optarg) != 0)
				return 2;
			break;
		case 'x':
			if (env.nexes == MAX_EXES)
				return usage_error("-x: at most 16 programs, not %s", optarg);
			if (access(optarg, F_OK) != 0)
				return usage_error("-x %s: no such file", optarg);
			env.exes[env.nexes++] = optarg;
			break;
		case 'd': {
			char *end;

			env.seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(env.seconds > 0) || env.seconds > 1e7)
				return usage_error("-d takes a number of seconds above 0, not %s",
						   optarg);
			break;
		}
		case 'o':
			env.output = optarg;
			break;
		case 'f':
			env.force = true;
			break;
		case 'D':
			if ((v = number(optarg, 1, TLR_MAX_FRAMES)) < 0)
				return usage_error("--depth takes 1 to 128, not %s", optarg);
			env.depth = (unsigned)v;
			break;
		case 'B':
			if ((v = number(optarg, 1, 1024)) < 0)
				return usage_error("--buffer takes 1 to 1024 (MiB), not %s", optarg);
			/* A BPF ring buffer is a power of two pages. */
			for (env.buffer_mb = 1; env.buffer_mb < (unsigned)v; env.buffer_mb <<= 1)
				;
			break;
		case 'q':
			env.quiet = true;
			break;
		case 'R':
			if (!(env.rotate_bytes = size_arg(optarg)))
				return usage_error("--rotate-size takes a size from 16K to 1T (a "
						   "number, then K, M or G; M if none), not %s",
						   optarg);
			break;
		case 'K':
			if ((v = number(optarg, 1, 1000000)) < 0)
				return usage_error("--keep takes a number of files from 1, not %s",
						   optarg);
			env.keep = (unsigned)v;
			break;
		case 'S':
			/* --serve=ADDR, or --serve ADDR: a next word that is
			 * HOST:PORT is the address, not a stray argument */
			if (!optarg && optind < argc && argv[optind][0] != '-' &&
			    strchr(argv[optind], ':'))
				optarg = argv[optind++];
			env.serve = optarg ? optarg : "127.0.0.1:6061";
			break;
		case 'V':
			printf("timerleak-record %s (trace format %d.%d)\n", TL_VERSION, TL_TRACE_MAJOR,
			       TL_TRACE_MINOR);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "(timerleak-record --help for the options)\n");
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument %s", argv[optind]);
	if (!env.npids && !env.nexes)
		return usage_error("%s", "which process? -p PID, or -x EXE");
	if (env.keep && !env.rotate_bytes)
		return usage_error("%s", "--keep counts the files --rotate-size makes: give both");
	return 0;
}

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#if !TL_RECORD_BPF

int main(int argc, char **argv)
{
	int r = parse_args(argc, argv);

	if (r)
		return r;
	say("this build has no BPF program: %s", TL_RECORD_NO_BPF);
	return 1;
}

#else

/* ---------------------------------------------------------------------------
 * What the machine must have
 */

static bool has_caps(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &h, d) != 0)
		return false;
	return (d[1].effective & (1u << (CAP_BPF - 32))) &&
	       (d[1].effective & (1u << (CAP_PERFMON - 32)));
}

/* Syscall tracepoints live in tracefs: mount it where it belongs if no one
 * has. @return false (with a message) when neither works. */
static bool tracefs_ready(void)
{
	if (access("/sys/kernel/tracing/events/syscalls", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events/syscalls", F_OK) == 0)
		return true;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
	    access("/sys/kernel/tracing/events/syscalls", F_OK) == 0)
		return true;
	say("tracefs is not mounted, and mounting it failed (%s): mount -t tracefs nodev "
	    "/sys/kernel/tracing",
	    strerror(errno));
	return false;
}

static int check_machine(void)
{
	if (!has_caps()) {
		say("needs root, or CAP_BPF and CAP_PERFMON (and CAP_SYS_PTRACE for another "
		    "user's process)");
		return 1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		say("this kernel has no BTF (/sys/kernel/btf/vmlinux): timerleak-record needs one "
		    "built with CONFIG_DEBUG_INFO_BTF");
		return 1;
	}
	return tracefs_ready() ? 0 : 1;
}

/* A Go program: its runtime's timers, by its version's probe points. */
struct gorun {
	bool is_go;
	struct tlr_goinfo gi;
	int async;               /* 1 async timer channels, 0 sync, -1 unknown */
	struct tlr_gosym *sym;
	struct tlr_go go;
	char exe[64];            /* /proc/PID/exe */
	unsigned sched_pc, sched_bp; /* g.sched's pc and bp (0: not found) */
};

/* The load bias of the executable: where /proc/PID/maps has its first
 * page, less where its first segment asks to be. */
static uint64_t exe_bias(pid_t pid, const char *exe)
{
	char path[64], line[4600], file[4096];
	uint64_t lo, off, bias = 0, vaddr = UINT64_MAX;
	Elf64_Phdr ph;
	Elf64_Ehdr eh;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && eh.e_type == ET_DYN)
		for (unsigned i = 0; i < eh.e_phnum && i < 64; i++)
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) ==
				    sizeof(ph) && ph.p_type == PT_LOAD && ph.p_vaddr < vaddr)
				vaddr = ph.p_vaddr & ~0xfffull;
	close(fd);
	if (vaddr == UINT64_MAX) /* not position-independent: no bias */
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 "-%*x %*s %" SCNx64 " %*s %*s %4095s", &lo, &off, file) == 3 &&
		    off == 0 && tlr_same_file(file, exe)) {
			bias = lo - vaddr;
			break;
		}
	fclose(f);
	return bias;
}

/*
 * Whether pid runs a Go program, and if so, whether this build can record
 * its timers: Go 1.19 and later, in a layout it knows. @return 0 to go
 * on (Go or not), 1 when refused (said).
 */
static int check_go(const struct tlr_proc *p, struct gorun *g)
{
	const char *names[3] = {"time.sendTime", "time.goFunc", "runtime.goroutineReady"};
	uint64_t at[3], mcall;
	int err;

	snprintf(g->exe, sizeof(g->exe), "/proc/%d/exe", (int)p->pid);
	if (tlr_goinfo_read(g->exe, &g->gi) != 1)
		return 0;
	g->is_go = true;
	g->async = tlr_goinfo_async_timers(&g->gi, p->godebug[0] ? p->godebug : NULL);
	if (g->gi.major != 1 || g->gi.minor < 19 || !(g->go.layout = tlr_go_layout(g->gi.minor))) {
		say("pid %d (%s) is a Go program (%s): timerleak-record follows the timers of Go "
		    "1.19 to 1.27, and knows no runtime layout for this one",
		    (int)p->pid, p->comm, g->gi.version[0] ? g->gi.version : "of unknown version");
		return 1;
	}
	if (!(g->sym = tlr_gosym_open(g->exe, &err))) {
		say("pid %d (%s) is a Go program (%s) whose symbol table (.gopclntab) cannot be "
		    "read: %s", (int)p->pid, p->comm, g->gi.version, tlr_gosym_strerror(err));
		return 1;
	}
	g->go.sym = g->sym;
	g->go.bias = exe_bias(p->pid, p->exe);
	/* The linker leaves out what the program does not use (a program
	 * without AfterFunc has no time.goFunc): no timer of that kind. */
	for (int i = 0; i < 3; i++)
		at[i] = tlr_gosym_lookup(g->sym, names[i], &at[i]) ? at[i] + g->go.bias : 0;
	/* Sleep's stacks begin in the goroutine's saved state (g.sched) */
	if (!tlr_gosym_lookup(g->sym, "runtime.mcall", &mcall) ||
	    tlr_gosym_sched_offsets(g->exe, mcall, &g->sched_pc, &g->sched_bp) != 0)
		say("warning: %s (%s): the saved state of a goroutine is not where it is "
		    "looked for: time.Sleep's timers are recorded without their callers",
		    p->comm, g->gi.version);
	g->go.send_time = at[0];
	g->go.go_func = at[1];
	g->go.ready = at[2];
	return 0;
}

static int check_target(pid_t pid, const struct tlr_proc *p, int err, struct gorun *g)
{
	if (err == -ESRCH) {
		say("no process %d", (int)pid);
		return 1;
	}
	if (err) {
		say("cannot read /proc/%d: %s", (int)pid, strerror(-err));
		return 1;
	}
	if (p->pid == getpid()) {
		say("pid %d is timerleak-record itself", (int)p->pid);
		return 1;
	}
	if (p->kernel_thread || !p->exe[0]) {
		say("pid %d (%s) is a kernel thread: it has no timers of its own to record",
		    (int)p->pid, p->comm);
		return 1;
	}
	return check_go(p, g);
}

/* ---------------------------------------------------------------------------
 * The recording
 */

struct rec {
	pid_t pid;
	struct tlr_proc proc;
	struct record_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[32];
	size_t nlinks;
	bool gotimer;            /* its probes are attached */
	struct gorun go;
	struct tl_trace_writer *w;
	int fd;
	char path[4096];
	struct tlr_modules *mods;
	struct tlr_unwinder *unwinder;
	struct tlr_collector *col;
	uint64_t counted[TLR_C_NCOUNTERS]; /* the BPF counters as already written */
	int err;                 /* the first trace error */
	bool gone;               /* the process exited or exec'd */
	int64_t start;
	struct tl__live *live;   /* --serve */
	uint64_t batch;          /* events read since the loop last had its turn */
	int64_t batch_until;     /* when the loop gets its turn back */
	int64_t next_flush, next_scan;
	unsigned parts;          /* files finished and renamed (--rotate-size) */
	uint64_t events_base;    /* events and drops in those files */
	uint64_t dropped_base;
};

/*
 * libbpf reads the ring until it is empty. A target that makes events
 * faster than the recorder takes them would keep it there, past -d and
 * past ^C: every 256 events, once BATCH_NS have passed, on_event returns
 * BATCH_DONE, which ends the read (the event is taken) and gives the loop
 * its turn.
 */
#define BATCH_NS (50 * 1000000LL)
#define BATCH_DONE (-EINPROGRESS)

static int read_ring(struct rec *r, int timeout_ms, bool until_empty)
{
	int n;

	r->batch_until = until_empty ? INT64_MAX : now_ns(CLOCK_MONOTONIC) + BATCH_NS;
	r->batch = 0;
	n = timeout_ms ? ring_buffer__poll(r->rb, timeout_ms) : ring_buffer__consume(r->rb);
	return n == BATCH_DONE ? 0 : n;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct rec *r = ctx;
	int v = tlr_collect_event(r->col, data, size);

	if (v == 1)
		r->gone = true;
	else if (v < 0 && !r->err)
		r->err = v;
	if ((++r->batch & 255) == 0 && now_ns(CLOCK_MONOTONIC) >= r->batch_until)
		return BATCH_DONE;
	return 0;
}

/* One process named by -p: -o names its trace, not a directory. */
static bool one_file(void)
{
	return env.npids == 1 && !env.nexes;
}

static int open_output(struct rec *r)
{
	const char *base = strrchr(r->proc.exe, '/');

	if (env.output && one_file()) {
		snprintf(r->path, sizeof(r->path), "%s", env.output);
		r->fd = open(r->path,
			     O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
				     (env.force ? O_TRUNC : O_EXCL),
			     0600);
	} else {
		/* Many processes into a directory: a trace there is never
		 * replaced, since a pid reused, or a process that exec'd the
		 * same program again, is another recording of this run. */
		bool forced = env.force && one_file();

		for (int n = 1; n <= 1000; n++) {
			char seq[16] = "";

			if (n > 1)
				snprintf(seq, sizeof(seq), "-%d", n);
			snprintf(r->path, sizeof(r->path), "%s%stimerleak.%s.%d%s.tlk",
				 env.output ? env.output : "", env.output ? "/" : "",
				 base ? base + 1 : r->proc.comm, (int)r->pid, seq);
			r->fd = open(r->path,
				     O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
					     (forced ? O_TRUNC : O_EXCL),
				     0600);
			if (r->fd >= 0 || errno != EEXIST || one_file())
				break;
		}
	}
	if (r->fd < 0) {
		if (errno == EEXIST)
			say("%s exists: choose another -o FILE, or --force to replace it", r->path);
		else
			say("cannot create %s: %s", r->path, strerror(errno));
		return 1;
	}
	return 0;
}

/* The process, how it is recorded, and what it had before: the trace's
 * first records. */
static int describe(struct rec *r, int64_t start)
{
	struct tl_process p = {.pid = (uint32_t)r->proc.pid, .ppid = (uint32_t)r->proc.ppid,
			       .wall_ns = (uint64_t)now_ns(CLOCK_REALTIME),
			       .mono_ns = (uint64_t)start, .exe = r->proc.exe,
			       .argc = r->proc.argc, .argv = (const char *const *)r->proc.argv,
			       .unwinder = "bpf", .depth = env.depth,
			       .flags = TL_PROCESS_ATTACHED};
	struct utsname u;
	int err;

	p.hostname = uname(&u) == 0 ? u.nodename : "";
	if ((err = tl_trace_writer_process(r->w, &p)) ||
	    (err = tl_trace_writer_recorder(r->w, FLUSH_MS)) ||
	    (r->proc.started && (err = tl_trace_writer_attached(r->w, r->proc.started))))
		return err;
	err = tlr_modules_scan(r->mods, r->w, start);
	/* a process gone meanwhile: the loop finds it so, and ends its trace */
	return err < 0 && err != -ESRCH ? err : 0;
}

struct found {
	struct rec *r;
	int err;
};

static void found_timerfd(void *ctx, int fd, int clockid, int64_t value, int64_t interval)
{
	struct found *f = ctx;
	__u32 key = (__u32)fd;
	__u8 one = 1;

	if (!f->err)
		f->err = tlr_collect_timerfd(f->r->col, f->r->start, fd, clockid, value, interval);
	bpf_map__update_elem(f->r->skel->maps.fds, &key, sizeof(key), &one, sizeof(one), BPF_ANY);
}

static void found_posix(void *ctx, int id, int clockid, int notify)
{
	struct found *f = ctx;

	if (!f->err)
		f->err = tlr_collect_posix(f->r->col, f->r->start, id, clockid, notify);
}

/* The kernel timers open now; the fds map learns the timerfds. A timer
 * made or ended between this scan and the attach is missed: a moment. */
static int existing(struct rec *r)
{
	struct found f = {r, 0};
	int n;

	/* A process that cannot be read this way is still recorded: what it
	 * had open is then not known, which is said. */
	if ((n = tlr_scan_timerfds(r->pid, found_timerfd, &f)) < 0)
		say("warning: cannot read /proc/%d/fd (%s): the timerfds it has open now are not "
		    "followed", (int)r->pid, strerror(-n));
	if ((n = tlr_scan_posix_timers(r->pid, found_posix, &f)) < 0)
		say("warning: cannot read /proc/%d/timers (%s): the POSIX timers it has now are "
		    "not followed", (int)r->pid, strerror(-n));
	return f.err;
}

/* libgotimer's hooks, once the process has it loaded. */
static void attach_gotimer(struct rec *r)
{
	uint64_t lo, hi;
	const char *path = tlr_modules_find(r->mods, "libgotimer.so", &lo, &hi);
	const struct tlr_probe *probes;
	char where[4200];
	size_t n;

	if (r->gotimer || !path)
		return;
	r->gotimer = true;
	tlr_collect_runtime(r->col, lo, hi);
	snprintf(where, sizeof(where), "/proc/%d/root%s", (int)r->pid, path);
	probes = tlr_gotimer_probes(&n);
	for (size_t i = 0; i < n && r->nlinks < sizeof(r->links) / sizeof(r->links[0]); i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = probes[i].func,
			    .bpf_cookie = probes[i].cookie);
		struct bpf_link *l =
			bpf_program__attach_uprobe_opts(r->skel->progs.probe, r->pid, where, 0, &o);

		if (!l) {
			say("failed to attach uprobe at %s in %s: %s", probes[i].func, path,
			    strerror(errno));
			continue;
		}
		r->links[r->nlinks++] = l;
	}
	if (!r->err)
		r->err = tl_trace_writer_runtime(r->w, now_ns(CLOCK_MONOTONIC),
						 r->proc.gotimer_mode, "libgotimer", "1.0");
}

/*
 * A Go program's runtime: its version's probe points, each on the jump of
 * its stack check (tlr_gosym_probe_offset), by file offset (a stripped
 * binary has no symbols to attach by). Every one is needed: a Go program
 * whose timers are half followed would give a wrong report. @return 0, or
 * 1 when one cannot be placed (said).
 */
static int attach_go(struct rec *r)
{
	const struct tlr_go_layout *l = r->go.go.layout;
	int err;

	tlr_collect_go(r->col, &r->go.go);
	for (size_t i = 0; i < l->nprobes; i++) {
		const char *fn = l->probes[i].func;
		uint64_t entry, off;
		unsigned at;
		struct bpf_link *link;

		if (!tlr_gosym_lookup(r->go.sym, fn, &entry)) {
			say("%s (%s) has no %s: cannot record its timers", r->proc.comm,
			    r->go.gi.version, fn);
			return 1;
		}
		if ((err = tlr_gosym_probe_offset(r->go.exe, entry, &at)) != 0 ||
		    (err = tlr_gosym_file_offset(r->go.exe, entry + at, &off)) != 0) {
			say("%s (%s): no place for a probe in %s: %s", r->proc.comm,
			    r->go.gi.version, fn, tlr_gosym_strerror(err));
			return 1;
		}
		LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = l->probes[i].cookie);
		link = bpf_program__attach_uprobe_opts(r->skel->progs.probe, r->pid, r->go.exe,
						       (size_t)off, &o);
		if (!link) {
			say("failed to attach uprobe at %s+%u in %s: %s", fn, at, r->proc.exe,
			    strerror(errno));
			return 1;
		}
		r->links[r->nlinks++] = link;
	}
	err = tl_trace_writer_runtime(r->w, now_ns(CLOCK_MONOTONIC),
				      r->go.async == 0 ? TL_MODE_SYNC : TL_MODE_ASYNC, "go",
				      r->go.gi.version);
	if (err) {
		say("cannot write %s: %s", r->path, tl_trace_strerror(err));
		return 1;
	}
	return 0;
}

/* Events the BPF side counted instead of sending. */
static void write_counts(struct rec *r, int64_t time)
{
	static const int reason[TLR_C_NCOUNTERS] = {TL_DROP_RING_FULL, TL_DROP_UNTRACKED};

	for (__u32 i = 0; i < TLR_C_NCOUNTERS; i++) {
		__u64 v = 0;

		if (bpf_map__lookup_elem(r->skel->maps.counters, &i, sizeof(i), &v, sizeof(v), 0) ||
		    v <= r->counted[i])
			continue;
		if (!r->err)
			r->err = tl_trace_writer_dropped(r->w, time, 0, v - r->counted[i], reason[i]);
		r->counted[i] = v;
	}
}

static int load(struct rec *r)
{
	int err;

	r->skel = record_bpf__open();
	if (!r->skel) {
		say("failed to open the BPF programs: %s", strerror(errno));
		return 1;
	}
	r->skel->rodata->target_tgid = (__u32)r->pid;
	r->skel->rodata->max_depth = env.depth;
	r->skel->rodata->wake_bytes = (__u64)env.buffer_mb << 17; /* an eighth */
	bpf_map__set_max_entries(r->skel->maps.events, env.buffer_mb << 20);
	if (r->go.is_go) {
		const struct tlr_go_layout *l = r->go.go.layout;

		r->skel->rodata->go_when = l->when;
		r->skel->rodata->go_period = l->period;
		r->skel->rodata->go_func = l->func;
		r->skel->rodata->go_arg = l->arg;
		r->skel->rodata->go_state = l->state;
		r->skel->rodata->go_read = l->read;
		r->skel->rodata->go_send_time = r->go.go.send_time;
		r->skel->rodata->go_go_func = r->go.go.go_func;
		r->skel->rodata->go_ready = r->go.go.ready;
		r->skel->rodata->go_sched_pc = r->go.sched_pc;
		r->skel->rodata->go_sched_bp = r->go.sched_bp;
	}
	if ((err = record_bpf__load(r->skel)) != 0) {
		say("failed to load the BPF programs: %s", strerror(-err));
		return 1;
	}
	r->rb = ring_buffer__new(bpf_map__fd(r->skel->maps.events), on_event, r, NULL);
	if (!r->rb) {
		say("failed to open the ring buffer: %s", strerror(errno));
		return 1;
	}
	return 0;
}

static int start(struct rec *r)
{
	struct tl_trace_writer_opts wo = {.time_shift = TIME_SHIFT};
	struct tlr_collect_opts co = {.pid = r->pid};
	int err;

	r->start = now_ns(CLOCK_MONOTONIC);
	r->next_flush = r->start + FLUSH_MS * 1000000LL;
	r->next_scan = r->start + 1000000000LL;
	r->mods = tlr_modules_new(r->pid, r->proc.exe);
	r->unwinder = tlr_unwinder_new(r->pid, r->mods);
	if (!r->mods || !r->unwinder || !(r->w = tl_trace_writer_new(r->fd, &wo, &err))) {
		say("cannot start the trace: out of memory");
		return 1;
	}
	co.w = r->w;
	co.mods = r->mods;
	co.unwinder = r->unwinder;
	co.realtime_offset = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
	co.boottime_offset = now_ns(CLOCK_BOOTTIME) - now_ns(CLOCK_MONOTONIC);
	if (!(r->col = tlr_collect_new(&co))) {
		say("cannot start the trace: out of memory");
		return 1;
	}
	if ((err = describe(r, r->start)) || (err = existing(r))) {
		say("cannot write %s: %s", r->path, tl_trace_strerror(err));
		return 1;
	}
	if ((err = record_bpf__attach(r->skel)) != 0) {
		say("failed to attach the syscall tracepoints: %s", strerror(-err));
		return 1;
	}
	if (r->go.is_go)
		return attach_go(r);
	attach_gotimer(r);
	return 0;
}

/* The name of a target's n-th finished file: NAME.tlk -> NAME.n.tlk. */
static void part_path(const struct rec *r, unsigned n, char *out, size_t size)
{
	size_t len = strlen(r->path);

	if (len > 4 && strcmp(r->path + len - 4, ".tlk") == 0)
		len -= 4;
	snprintf(out, size, "%.*s.%u.tlk", (int)len, r->path, n);
}

/*
 * --rotate-size: end the trace file, rename it NAME.N.tlk, and go on in a
 * new NAME.tlk that is a whole trace of its own: the process, its objects,
 * the kernel timers it has open, its runtime; the live server reads on
 * from one into the other. @return 0 or a trace error (the recording then
 * ends, as for any failed write).
 */
static int rotate(struct rec *r, struct tl__live *live, int64_t now)
{
	struct tl_trace_writer_opts wo = {.time_shift = TIME_SHIFT};
	struct tlr_collect_stats st;
	struct tl_trace_writer *w;
	char part[4200];
	int err, werr, fd;

	write_counts(r, now);
	tlr_collect_stats(r->col, &st);
	if ((err = tl_trace_writer_end(r->w, now, st.events - r->events_base,
				       r->counted[TLR_C_DROPPED] + r->counted[TLR_C_UNTRACKED] -
					       r->dropped_base)) != 0)
		return err;
	r->events_base = st.events;
	r->dropped_base = r->counted[TLR_C_DROPPED] + r->counted[TLR_C_UNTRACKED];
	part_path(r, ++r->parts, part, sizeof(part));
	if (rename(r->path, part) != 0 ||
	    (fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		say("pid %d: cannot rotate %s: %s", (int)r->pid, r->path, strerror(errno));
		return TL_TRACE_E_IO;
	}
	if (!(w = tl_trace_writer_new(fd, &wo, &err))) {
		close(fd);
		unlink(r->path); /* not even a header: the renamed file is the trace */
		say("pid %d: cannot start %s: %s; the trace ends in %s", (int)r->pid, r->path,
		    tl_trace_strerror(err), part);
		return err;
	}
	/* The collector goes on in the new file whatever else fails: the
	 * old writer is gone. */
	tl_trace_writer_free(r->w);
	close(r->fd);
	r->fd = fd;
	r->w = w;
	tlr_modules_again(r->mods);
	err = describe(r, now);
	werr = tlr_collect_rotate(r->col, r->w, now);
	if (err || (err = werr))
		return err;
	if (r->go.is_go)
		err = tl_trace_writer_runtime(r->w, now, r->go.async == 0 ? TL_MODE_SYNC
									  : TL_MODE_ASYNC,
					      "go", r->go.gi.version);
	else if (r->gotimer)
		err = tl_trace_writer_runtime(r->w, now, r->proc.gotimer_mode, "libgotimer", "1.0");
	if (err || (err = tl_trace_writer_flush(r->w)))
		return err;
	if (live)
		tl__live_rotate(live, r->path, r->path);
	if (env.keep && r->parts > env.keep) {
		part_path(r, r->parts - env.keep, part, sizeof(part));
		unlink(part);
	}
	return 0;
}

/* A target's turn in the loop: its modules, and what it wrote to disk.
 * @return false once it is gone or failed. */
static bool tick(struct rec *r, struct tl__live *live, int64_t now)
{
	if (now >= r->next_scan) {
		int changes;

		r->next_scan = now + 1000000000LL;
		if (kill(r->pid, 0) != 0 && errno == ESRCH) {
			r->gone = true;
			return false;
		}
		changes = tlr_modules_scan(r->mods, r->w, now);
		if (changes > 0)
			tlr_unwinder_stale(r->unwinder);
		else if (changes < 0 && changes != -ESRCH && !r->err)
			r->err = changes; /* a module record could not be written */
		attach_gotimer(r);
	}
	if (now >= r->next_flush) {
		r->next_flush = now + FLUSH_MS * 1000000LL;
		write_counts(r, now);
		if (!r->err)
			r->err = tl_trace_writer_flush(r->w);
		if (!r->err && env.rotate_bytes) {
			struct tl_trace_writer_stats ws;

			tl_trace_writer_stats(r->w, &ws);
			if (ws.file_bytes >= env.rotate_bytes)
				r->err = rotate(r, live, now);
		}
	}
	return !r->gone && !r->err;
}

/* Detach first, so that nothing more comes; then what is left in the
 * ring buffer; then the end. */
static int finish(struct rec *r)
{
	int64_t end = now_ns(CLOCK_MONOTONIC); /* detaching takes a while: not recorded */
	struct tlr_collect_stats st;
	int err;

	/* Stop recording, then read what is in the ring and the counts: the
	 * window ends here, not when the last probe is gone. */
	r->skel->bss->stopped = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	read_ring(r, 0, true);
	write_counts(r, end);
	for (size_t i = 0; i < r->nlinks; i++)
		bpf_link__destroy(r->links[i]);
	r->nlinks = 0;
	record_bpf__detach(r->skel);
	read_ring(r, 0, true); /* an event a probe was writing as it stopped */
	tlr_collect_stats(r->col, &st);
	if (st.exited && (st.exit_code & 0x7f) && !r->err)
		r->err = tl_trace_writer_end_signal(r->w, st.exit_code & 0x7f);
	err = r->err ? r->err
		     : tl_trace_writer_end(r->w, end, st.events - r->events_base,
					   r->counted[TLR_C_DROPPED] + r->counted[TLR_C_UNTRACKED] -
						   r->dropped_base);
	if (err) {
		say("cannot write %s: %s", r->path, tl_trace_strerror(err));
		return 1;
	}
	if (!env.quiet) {
		char why[64] = "";

		if (st.exited)
			snprintf(why, sizeof(why), "; the process exited");
		else if (st.execed)
			snprintf(why, sizeof(why), "; the process exec'd another program");
		char parts[128] = "";

		if (r->parts && env.keep && r->parts > env.keep)
			snprintf(parts, sizeof(parts), " (and %u earlier files, .1.tlk to .%u.tlk, "
				 "the newest %u kept)", r->parts, r->parts, env.keep);
		else if (r->parts)
			snprintf(parts, sizeof(parts), " (and %u earlier file%s, .1.tlk to .%u.tlk)",
				 r->parts, r->parts == 1 ? "" : "s", r->parts);
		say("pid %d (%s): %.1f s, %" PRIu64 " events, %" PRIu64 " timers, %" PRIu64
		    " dropped%s; trace written to %s%s",
		    (int)r->pid, r->proc.comm, (double)(end - r->start) / 1e9, st.events, st.timers,
		    r->counted[TLR_C_DROPPED] + r->counted[TLR_C_UNTRACKED], why, r->path, parts);
	}
	return 0;
}

static void cleanup(struct rec *r)
{
	for (size_t i = 0; i < r->nlinks; i++)
		bpf_link__destroy(r->links[i]);
	ring_buffer__free(r->rb);
	record_bpf__destroy(r->skel);
	tl_trace_writer_free(r->w);
	if (r->fd >= 0)
		close(r->fd);
	tlr_collect_free(r->col);
	tlr_unwinder_free(r->unwinder);
	tlr_modules_free(r->mods);
	tlr_proc_close(&r->proc);
	tlr_gosym_close(r->go.sym);
	free(r);
}

/* ---------------------------------------------------------------------------
 * The targets: each process recorded into its own trace, beside the others
 */

struct recorder {
	struct rec *t[MAX_TARGETS];
	size_t n;
	struct tl__live *live;        /* --serve */
	struct { dev_t dev; ino_t ino; } exe[MAX_EXES]; /* -x */
	pid_t seen[4096];             /* processes -x matched, recorded or refused */
	size_t nseen;
	unsigned written, failed;     /* traces */
};

/* Start recording pid; named: by -p (a failure is the recorder's), not
 * found by -x. @return 0, 1 when it cannot be (said), 2 when it cannot be
 * now: as many processes are recorded as can be (said for a named one). */
static int add_target(struct recorder *rc, pid_t pid, bool named)
{
	struct rec *r = calloc(1, sizeof(*r));

	if (!r) {
		say("pid %d: out of memory", (int)pid);
		return 1;
	}
	r->fd = -1;
	r->pid = pid;
	if (rc->n == MAX_TARGETS) {
		if (named)
			say("pid %d: already recording %d processes, the most at once", (int)pid,
			    MAX_TARGETS);
		rc->failed += named;
		cleanup(r);
		return 2;
	}
	if (check_target(pid, &r->proc, tlr_proc_read(pid, &r->proc), &r->go) != 0 ||
	    open_output(r))
		goto fail;
	if (load(r) || start(r)) {
		unlink(r->path); /* nothing recorded: no trace to mistake for one */
		goto fail;
	}
	if (rc->live && tl__live_add(rc->live, r->path) != 0)
		say("pid %d: out of memory: its metrics are not served", (int)pid);
	if (!env.quiet)
		say("recording pid %d (%s) to %s%s", (int)pid, r->proc.comm, r->path,
		    rc->n || env.nexes || env.npids > 1 ? "" : "; Ctrl-C to stop");
	rc->t[rc->n++] = r;
	return 0;
fail:
	rc->failed += named;
	cleanup(r);
	return 1;
}

/* End target i's trace; its series leave the served metrics. */
static void end_target(struct recorder *rc, size_t i)
{
	struct rec *r = rc->t[i];

	if (finish(r) == 0)
		rc->written++;
	else
		rc->failed++;
	if (rc->live)
		tl__live_remove(rc->live, r->path);
	/* A process that exec'd may run the program again: -x looks anew. */
	for (size_t k = 0; r->gone && k < rc->nseen; k++)
		if (rc->seen[k] == r->pid)
			rc->seen[k] = rc->seen[--rc->nseen];
	cleanup(r);
	rc->t[i] = rc->t[--rc->n];
}

/* -x: the processes running one of the programs that are not yet seen. */
static void find_exes(struct recorder *rc)
{
	struct { dev_t dev; ino_t ino; } now[MAX_EXES];
	DIR *d;
	struct dirent *e;

	/* Forget the processes that are gone: their pids may come back. */
	for (size_t k = rc->nseen; k-- > 0;)
		if (kill(rc->seen[k], 0) != 0 && errno == ESRCH)
			rc->seen[k] = rc->seen[--rc->nseen];
	/* The program as its path names it now (an upgrade replaces the
	 * file), beside the file it was when the recording began. */
	for (size_t k = 0; k < env.nexes; k++) {
		struct stat st;
		bool there = stat(env.exes[k], &st) == 0;

		now[k].dev = there ? st.st_dev : rc->exe[k].dev;
		now[k].ino = there ? st.st_ino : rc->exe[k].ino;
	}
	if (!(d = opendir("/proc")))
		return;
	while ((e = readdir(d)) != NULL) {
		char path[64];
		struct stat st;
		long pid = number(e->d_name, 1, INT_MAX);
		bool known = false;

		if (pid < 0 || pid == getpid())
			continue;
		for (size_t k = 0; k < rc->nseen && !known; k++)
			known = rc->seen[k] == pid;
		for (size_t k = 0; k < rc->n && !known; k++)
			known = rc->t[k]->pid == pid; /* -p named it too */
		snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
		if (known || stat(path, &st) != 0)
			continue;
		for (size_t k = 0; k < env.nexes; k++) {
			if (!((rc->exe[k].dev == st.st_dev && rc->exe[k].ino == st.st_ino) ||
			      (now[k].dev == st.st_dev && now[k].ino == st.st_ino)))
				continue;
			/* Recorded, or refused for good (said once); one refused
			 * for want of a slot is tried again at the next scan. */
			if (add_target(rc, (pid_t)pid, false) != 2 &&
			    rc->nseen < sizeof(rc->seen) / sizeof(rc->seen[0]))
				rc->seen[rc->nseen++] = (pid_t)pid;
			break;
		}
	}
	closedir(d);
}

/* Until told to stop, the duration is up, or (without -x) every target is
 * gone. */
static void run(struct recorder *rc)
{
	int64_t start = now_ns(CLOCK_MONOTONIC), next_find = start + 1000000000LL;
	int64_t until = env.seconds > 0 ? start + (int64_t)(env.seconds * 1e9) : INT64_MAX;

	while (!stop && (rc->n || env.nexes)) {
		struct pollfd p[MAX_TARGETS + 1];
		size_t np = 0;
		int64_t now;

		for (size_t i = 0; i < rc->n; i++)
			p[np++] = (struct pollfd){ring_buffer__epoll_fd(rc->t[i]->rb), POLLIN, 0};
		if (rc->live)
			p[np++] = (struct pollfd){tl__live_fd(rc->live), POLLIN, 0};
		/* The BPF side wakes the reader only past a fill level: at
		 * the timeout, take what has come all the same. */
		poll(p, np, rc->live && tl__live_busy(rc->live) ? 5 : 100);
		for (size_t i = 0; i < rc->n; i++) {
			int n = read_ring(rc->t[i], 0, false);

			if (n < 0 && n != -EINTR && !rc->t[i]->err) {
				say("pid %d: reading the ring buffer failed: %s", (int)rc->t[i]->pid,
				    strerror(-n));
				rc->t[i]->err = n;
			}
		}
		now = now_ns(CLOCK_MONOTONIC);
		if (rc->live)
			tl__live_step(rc->live, NULL); /* reading stops only on a fault of its own */
		if (now >= until)
			break;
		for (size_t i = rc->n; i-- > 0;)
			if (!tick(rc->t[i], rc->live, now))
				end_target(rc, i);
		if (env.nexes && now >= next_find) {
			next_find = now + 1000000000LL;
			find_exes(rc);
		}
	}
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* -o: with several targets, a directory (made if missing). */
static int check_output(void)
{
	struct stat st;

	if (one_file()) {
		if (env.output && stat(env.output, &st) == 0 && S_ISDIR(st.st_mode))
			return usage_error("-o %s is a directory: one process's trace is a file",
					   env.output);
		return 0;
	}
	if (!env.output)
		return 0;
	if (stat(env.output, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0
					   : usage_error("-o %s: with several processes or -x, -o "
							 "names a directory", env.output);
	if (mkdir(env.output, 0755) != 0) {
		say("cannot make the directory %s: %s", env.output, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct recorder rc;
	struct sigaction sa = {.sa_handler = on_signal};
	int ret;

	if ((ret = parse_args(argc, argv)) != 0)
		return ret;
	for (size_t i = 0; i < env.nexes; i++) {
		struct stat st;

		if (stat(env.exes[i], &st) != 0)
			return usage_error("-x %s: no such file", env.exes[i]);
		rc.exe[i].dev = st.st_dev;
		rc.exe[i].ino = st.st_ino;
	}
	if ((ret = check_output()) != 0 || (ret = check_machine()) != 0)
		return ret;
	libbpf_set_print(quiet_libbpf);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (env.serve) {
		struct tl__sym_opts so = {0};
		char why[256];

		/* The port first: a recorder that cannot serve attaches to
		 * nothing. */
		if (!(rc.live = tl__live_open(env.serve, &so, why, sizeof(why)))) {
			say("--serve=%s", why);
			return 2;
		}
		if (!env.quiet)
			say("metrics at http://%.*s:%d/metrics",
			    (int)(strrchr(env.serve, ':') - env.serve), env.serve,
			    tl__live_port(rc.live));
	}
	for (size_t i = 0; i < env.npids; i++)
		add_target(&rc, env.pids[i], true);
	if (env.nexes) {
		find_exes(&rc);
		if (!env.quiet)
			say("following every process of %s%s; Ctrl-C to stop", env.exes[0],
			    env.nexes > 1 ? " and the other programs" : "");
	}
	run(&rc);
	while (rc.n)
		end_target(&rc, rc.n - 1);
	tl__live_close(rc.live);
	/* 0 when every process it set out to record has its trace; -x
	 * counts only what it could record. */
	return rc.failed || (!rc.written && !env.nexes) ? 1 : 0;
}

#endif /* TL_RECORD_BPF */
