/*
 * procfs.c - the target as /proc describes it (procfs.h).
 */
#include "procfs.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PF_KTHREAD 0x00200000u

/* A whole small file of /proc into buf (NUL-terminated). @return its
 * length, or -errno. */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0)
		return -errno;
	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	if (r < 0)
		r = -errno;
	close(fd);
	buf[n] = 0;
	return r < 0 ? r : (ssize_t)n;
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* pid, (comm), state, ppid, ..., flags (9th), ..., starttime (22nd). */
static int read_stat(struct tlr_proc *p)
{
	char path[64], buf[1024], *close_paren, *f;
	unsigned long long flags = 0, start = 0;
	int ppid = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p->pid);
	if ((n = slurp(path, buf, sizeof(buf))) < 0)
		return (int)n;
	close_paren = strrchr(buf, ')');
	f = strchr(buf, '(');
	if (!close_paren || !f)
		return -EINVAL;
	snprintf(p->comm, sizeof(p->comm), "%.*s", (int)(close_paren - f - 1), f + 1);
	/* After ") ": state ppid pgrp session tty tpgid flags ... starttime. */
	if (sscanf(close_paren + 2,
		   "%*c %d %*d %*d %*d %*d %llu %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &ppid, &flags, &start) != 3)
		return -EINVAL;
	p->ppid = ppid;
	p->kernel_thread = (flags & PF_KTHREAD) != 0;
	if (start) {
		/* starttime counts clock ticks since boot, which CLOCK_BOOTTIME
		 * counts too; the trace's clock is CLOCK_MONOTONIC. */
		int64_t since = clock_ns(CLOCK_BOOTTIME) -
				(int64_t)(start * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK)));

		p->started = clock_ns(CLOCK_MONOTONIC) - since;
	}
	return 0;
}

static void read_cmdline(struct tlr_proc *p)
{
	char path[64], *buf = malloc(1 << 16);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)p->pid);
	if (!buf || (n = slurp(path, buf, 1 << 16)) <= 0) {
		free(buf);
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		p->argc += buf[i] == 0 || i == n - 1;
	p->argv = calloc(p->argc + 1, sizeof(char *));
	if (!p->argv) {
		p->argc = 0;
		free(buf);
		return;
	}
	/* argv[0] owns the buffer; the others point into it. */
	for (uint32_t i = 0, off = 0; i < p->argc && off < (uint32_t)n; i++) {
		p->argv[i] = buf + off;
		off += (uint32_t)strlen(buf + off) + 1;
	}
	if (p->argc == 0)
		free(buf);
}

/* GOTIMER_CHAN and GODEBUG from the environment it started with. */
static void read_environ(struct tlr_proc *p)
{
	char path[64], *buf = malloc(1 << 16);
	ssize_t n;

	p->gotimer_mode = TL_MODE_ASYNC;
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)p->pid);
	if (buf && (n = slurp(path, buf, 1 << 16)) > 0) {
		for (char *v = buf; v < buf + n; v += strlen(v) + 1)
			if (strcmp(v, "GOTIMER_CHAN=sync") == 0)
				p->gotimer_mode = TL_MODE_SYNC;
			else if (strncmp(v, "GODEBUG=", 8) == 0)
				snprintf(p->godebug, sizeof(p->godebug), "%s", v + 8);
	}
	free(buf);
}

/*
 * The kernel names a mapped file that was deleted or replaced (a package
 * upgrade while the program runs) "PATH (deleted)": it is still the file
 * PATH was, the same object at the same place, and PATH is where its
 * symbols are looked for (by build-id, so a different file there is not
 * trusted).
 */
static void undeleted(char *path)
{
	static const char tail[] = " (deleted)";
	size_t n = strlen(path), t = sizeof(tail) - 1;

	if (n > t && strcmp(path + n - t, tail) == 0)
		path[n - t] = 0;
}

int tlr_proc_read(pid_t pid, struct tlr_proc *p)
{
	char path[64];
	ssize_t n;
	int err;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if ((err = read_stat(p)) != 0)
		return err == -ENOENT ? -ESRCH : err;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, p->exe, sizeof(p->exe) - 1);
	p->exe[n > 0 ? n : 0] = 0;
	undeleted(p->exe);
	read_cmdline(p);
	read_environ(p);
	return 0;
}

void tlr_proc_close(struct tlr_proc *p)
{
	if (p->argv)
		free(p->argv[0]);
	free(p->argv);
	p->argv = NULL;
}

/* ---------------------------------------------------------------------------
 * Loaded objects
 */

struct known {
	char *path;
	uint64_t start; /* its lowest mapping: which load of the file */
	uint64_t bias;  /* 0 until described */
	uint64_t text_lo, text_hi;
	uint32_t id;
	bool seen;
	bool again;     /* to be written again, under its id (a new trace file) */
};

struct tlr_modules {
	pid_t pid;
	char exe[4096];
	struct known *k;
	size_t n, cap;
	uint32_t next_id;
	uint64_t heap_lo, heap_hi;
};

/* One line of /proc/PID/maps. */
struct mapping {
	uint64_t start, end, offset, inode;
	char perms[8];
	const char *path;
};

struct tlr_modules *tlr_modules_new(pid_t pid, const char *exe)
{
	struct tlr_modules *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pid = pid;
	m->next_id = 1;
	snprintf(m->exe, sizeof(m->exe), "%s", exe);
	return m;
}

void tlr_modules_free(struct tlr_modules *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->k[i].path);
	free(m->k);
	free(m);
}

bool tlr_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* The file behind a mapping, as this process can open it. */
static int open_mapped(pid_t pid, const struct mapping *mp)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
		 mp->start, mp->end);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, mp->path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
		return fd;
	return open(mp->path, O_RDONLY | O_CLOEXEC);
}

/* The GNU build-id among the notes at [off, off + size) of the file. */
static uint32_t build_id(int fd, uint64_t off, uint64_t size, uint8_t *out)
{
	uint8_t buf[1024];
	ssize_t n = pread(fd, buf, size < sizeof(buf) ? size : sizeof(buf), (off_t)off);
	const uint8_t *id;
	uint32_t len = n > 0 ? tl_build_id_in_notes(buf, (size_t)n, &id) : 0;

	if (len)
		memcpy(out, id, len);
	return len;
}

/* Write the module record of the object whose lowest mapping is mp. */
static int describe(struct tlr_modules *m, struct tl_trace_writer *w, int64_t time,
		    const struct mapping *mp, struct known *k)
{
	struct tl_segment segs[TL_MAX_SEGMENTS];
	uint8_t bid[TL_MAX_BUILD_ID];
	struct tl_module mod = {.id = k->id, .build_id = bid, .segs = segs};
	Elf64_Phdr ph[64];
	Elf64_Ehdr eh;
	int fd = open_mapped(m->pid, mp), err = 0;
	bool biased = false;

	if (fd < 0)
		return 0; /* gone, or not ours to read: its frames stay addresses */
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 64 ||
	    pread(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), (off_t)eh.e_phoff) !=
		    (ssize_t)(eh.e_phnum * sizeof(Elf64_Phdr))) {
		close(fd);
		return 0;
	}
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE && !mod.build_id_len)
			mod.build_id_len = build_id(fd, ph[i].p_offset, ph[i].p_filesz, bid);
		if (ph[i].p_type != PT_LOAD || mod.nseg >= TL_MAX_SEGMENTS)
			continue;
		segs[mod.nseg++] = (struct tl_segment){ph[i].p_vaddr, ph[i].p_memsz, ph[i].p_offset,
						       ph[i].p_flags};
		/* The load bias: where the segment that the lowest mapping
		 * maps from the file landed, less where it asked to be. */
		if (!biased && (ph[i].p_offset & ~0xfffull) == mp->offset) {
			mod.bias = mp->start - (ph[i].p_vaddr & ~0xfffull);
			biased = true;
		}
	}
	close(fd);
	if (!biased)
		return 0;
	k->bias = mod.bias;
	mod.path = tlr_same_file(mp->path, m->exe) ? "" : mp->path;
	err = tl_trace_writer_module(w, time, &mod);
	return err;
}

static struct known *find(struct tlr_modules *m, const char *path, uint64_t start)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->k[i].start == start && strcmp(m->k[i].path, path) == 0)
			return &m->k[i];
	return NULL;
}

static struct known *remember(struct tlr_modules *m, const char *path, uint64_t start)
{
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct known *n = realloc(m->k, ncap * sizeof(*n));

		if (!n)
			return NULL;
		m->k = n;
		m->cap = ncap;
	}
	m->k[m->n] = (struct known){.path = strdup(path), .start = start, .id = m->next_id};
	if (!m->k[m->n].path)
		return NULL;
	m->next_id++;
	return &m->k[m->n++];
}

static bool parse_mapping(char *line, struct mapping *mp)
{
	int off = 0;

	memset(mp, 0, sizeof(*mp));
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %" SCNu64 " %n", &mp->start,
		   &mp->end, mp->perms, &mp->offset, &mp->inode, &off) < 5)
		return false;
	mp->path = line + off;
	line[strcspn(line, "\n")] = 0;
	undeleted(line + off);
	return true;
}

int tlr_modules_scan(struct tlr_modules *m, struct tl_trace_writer *w, int64_t time)
{
	char path[64], line[4400];
	struct known *cur = NULL;
	size_t j = 0, files = 0;
	int err = 0, changes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)m->pid);
	if (!(f = fopen(path, "re")))
		return errno == ENOENT ? -ESRCH : -errno;
	for (size_t i = 0; i < m->n; i++)
		m->k[i].seen = false;
	while (fgets(line, sizeof(line), f) && !err) {
		struct mapping mp;

		if (!parse_mapping(line, &mp))
			continue;
		files += mp.path[0] == '/';
		if (strcmp(mp.path, "[heap]") == 0) {
			m->heap_lo = mp.start;
			m->heap_hi = mp.end;
		}
		if (mp.path[0] != '/' || !mp.inode) {
			cur = NULL;
			continue;
		}
		/* The mappings of one load of a file follow each other. */
		if (!cur || strcmp(cur->path, mp.path) != 0) {
			cur = find(m, mp.path, mp.start);
			if (!cur) {
				cur = remember(m, mp.path, mp.start);
				if (!cur)
					break;
				err = describe(m, w, time, &mp, cur);
				changes++;
			} else if (cur->again) {
				err = describe(m, w, time, &mp, cur);
				cur->again = false;
			}
			cur->seen = true;
		}
		if (strchr(mp.perms, 'x')) {
			cur->text_lo = cur->text_lo ? cur->text_lo : mp.start;
			cur->text_hi = mp.end;
		}
	}
	fclose(f);
	/* A process that has exited, not yet reaped, maps nothing: its
	 * objects are not unloaded, it is gone. */
	if (!files && !err)
		return -ESRCH;
	for (size_t i = 0; i < m->n; i++) {
		if (m->k[i].seen) {
			m->k[j++] = m->k[i];
			continue;
		}
		if (!err)
			err = tl_trace_writer_module_unload(w, time, m->k[i].id);
		free(m->k[i].path);
		changes++;
	}
	m->n = j;
	return err ? err : changes;
}

void tlr_modules_again(struct tlr_modules *m)
{
	for (size_t i = 0; i < m->n; i++)
		m->k[i].again = true;
}

const char *tlr_modules_find(struct tlr_modules *m, const char *prefix, uint64_t *lo,
			     uint64_t *hi)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < m->n; i++) {
		const char *base = strrchr(m->k[i].path, '/');

		base = base ? base + 1 : m->k[i].path;
		if (strncmp(base, prefix, n) == 0) {
			*lo = m->k[i].text_lo;
			*hi = m->k[i].text_hi;
			return m->k[i].path;
		}
	}
	return NULL;
}

void tlr_modules_each(const struct tlr_modules *m,
		      void (*cb)(void *ctx, const char *path, uint64_t bias), void *ctx)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->k[i].bias || m->k[i].start)
			cb(ctx, m->k[i].path, m->k[i].bias);
}

void tlr_modules_heap(const struct tlr_modules *m, uint64_t *lo, uint64_t *hi)
{
	*lo = m->heap_lo;
	*hi = m->heap_hi;
}

/* ---------------------------------------------------------------------------
 * Kernel timers open now
 */

/* "it_value: (1, 500000000)" and the like, in ns. */
static int64_t fdinfo_time(const char *info, const char *key)
{
	const char *p = strstr(info, key);
	long long s = 0, ns = 0;

	if (!p || sscanf(p + strlen(key), " (%lld, %lld)", &s, &ns) != 2)
		return 0;
	return (int64_t)s * 1000000000 + ns;
}

int tlr_scan_timerfds(pid_t pid,
		      void (*cb)(void *ctx, int fd, int clockid, int64_t value, int64_t interval),
		      void *ctx)
{
	char path[64], link[64], info[1024];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(dir = opendir(path)))
		return errno == ENOENT ? -ESRCH : -errno;
	while ((d = readdir(dir))) {
		char fdpath[300];
		const char *c;
		ssize_t len;
		int fd = atoi(d->d_name);

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%s", (int)pid, d->d_name);
		len = readlink(fdpath, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (strcmp(link, "anon_inode:[timerfd]") != 0)
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/%d/fdinfo/%s", (int)pid, d->d_name);
		if (slurp(fdpath, info, sizeof(info)) <= 0)
			continue;
		c = strstr(info, "clockid:");
		cb(ctx, fd, c ? atoi(c + 8) : 0, fdinfo_time(info, "it_value:"),
		   fdinfo_time(info, "it_interval:"));
		n++;
	}
	closedir(dir);
	return n;
}

static int notify_of(const char *s)
{
	if (strncmp(s, "signal", 6) == 0)
		return 0; /* SIGEV_SIGNAL */
	if (strncmp(s, "none", 4) == 0)
		return 1; /* SIGEV_NONE */
	if (strncmp(s, "thread", 6) == 0)
		return 2; /* SIGEV_THREAD (glibc's helper thread) */
	return 0;
}

int tlr_scan_posix_timers(pid_t pid, void (*cb)(void *ctx, int id, int clockid, int notify),
			  void *ctx)
{
	char path[64], line[256], how[64] = "signal";
	int id = -1, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/timers", (int)pid);
	if (!(f = fopen(path, "re")))
		return errno == ENOENT ? -ESRCH : -errno;
	/* ID, signal, notify, ClockID: one timer per four lines. */
	while (fgets(line, sizeof(line), f)) {
		int v;

		if (sscanf(line, "ID: %d", &v) == 1)
			id = v;
		else if (sscanf(line, "notify: %63s", how) == 1)
			;
		else if (sscanf(line, "ClockID: %d", &v) == 1 && id >= 0) {
			cb(ctx, id, v, notify_of(how));
			n++;
			id = -1;
		}
	}
	fclose(f);
	return n;
}

void tlr_thread_name(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	if (slurp(path, buf, size) < 0)
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}
