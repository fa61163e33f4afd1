/*
 * pprof_out.c - the analysis as a Go-heap-style profile (--pprof).
 *
 * One sample per creation site, with Go's heap profile sample types in Go's
 * order: alloc_objects/count and alloc_space/bytes for every timer the site
 * created over the trace, inuse_objects/count and inuse_space/bytes for
 * those live at the chosen moment (--at). Stacks are the creation stacks,
 * leaf first, symbolized here with inlined calls as lines of one location,
 * and every mapping is marked symbolized so pprof never tries again.
 * Labels: timer_kind, pattern (the most severe leak or warning at the site), and
 * age, the mean age of the site's live timers at that moment.
 *
 * Every timer is recorded, none sampled: the period is 1.
 */
#include "pprof_out.h"
#include "tl_pprof.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAMES_MAX 256
#define INLINE_MAX 16

/* pprof mapping ids by trace module id, made as frames meet them. */
struct maps {
	uint32_t module[1024];
	uint64_t id[1024];
	size_t n;
};

static uint64_t mapping_of(struct tl_pprof *p, struct maps *m, const struct tl__report *r,
			   uint64_t addr, int64_t time)
{
	struct tl__sym_object obj;
	const char *base;

	if (!tl__sym_object_of(r->sym, addr, time, &obj))
		return 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->module[i] == obj.id)
			return m->id[i];
	if (m->n == sizeof(m->module) / sizeof(m->module[0]))
		return 0;
	m->module[m->n] = obj.id;
	/*
	 * The object's name, not its path: go tool pprof opens a mapping's
	 * file to build its source and disassembly views, reads it with Go's
	 * own object reader, and for a C binary (no Go line tables) shows an
	 * empty page instead of the profile's lines. Unable to open a bare
	 * name, it uses the symbolized lines every location already carries;
	 * and "File:" still names the binary. The full paths are in the
	 * report.
	 */
	base = strrchr(obj.path, '/');
	m->id[m->n] = tl_pprof_mapping(p, obj.start, obj.limit, obj.offset,
				       base ? base + 1 : obj.path, obj.build_id, true);
	return m->id[m->n++];
}

static void main_mapping_first(struct tl_pprof *p, struct maps *m, const struct tl__report *r)
{
	struct tl__sym_object obj;

	if (tl__sym_main_object(r->sym, &obj))
		mapping_of(p, m, r, obj.start, obj.time);
}

static uint64_t location(struct tl_pprof *p, struct maps *m, const struct tl__report *r,
			 uint64_t addr, bool is_return)
{
	struct tl__frame f[INLINE_MAX];
	struct tl_pprof_line lines[INLINE_MAX];
	int n = tl__sym_lookup(r->sym, addr, is_return, r->a->end_time, f, INLINE_MAX);

	for (int i = 0; i < n; i++) {
		char raw[64];
		const char *name = f[i].function;

		if (!name) {
			snprintf(raw, sizeof(raw), "0x%" PRIx64, addr);
			name = raw;
		}
		lines[i].function = tl_pprof_function(p, name, f[i].file ? f[i].file : "", 0);
		lines[i].line = f[i].line;
	}
	return tl_pprof_location(p, mapping_of(p, m, r, addr, r->a->end_time), addr, lines,
				 (size_t)n);
}

/* The creation stack as location ids; a site without one gets a single
 * made-up frame that says so. */
static size_t stack(struct tl_pprof *p, struct maps *m, const struct tl__report *r,
		    uint32_t id, uint64_t *locs)
{
	const struct tl__an_stack *st = tl__an_stack(r->a, id);
	size_t n = 0;

	if (!st || st->n == 0) {
		struct tl_pprof_line l = {tl_pprof_function(p, "[created before the trace]", "", 0), 0};

		locs[0] = tl_pprof_location(p, 0, 0, &l, 1);
		return locs[0] ? 1 : 0;
	}
	for (uint32_t i = 0; i < st->n && n < FRAMES_MAX; i++) {
		uint64_t loc = location(p, m, r, st->frames[i], true); /* all return addresses */

		if (loc)
			locs[n++] = loc;
	}
	return n;
}

/* The most severe warning or leak at the site: a note (a long-lived
 * ticker) is no pattern to focus on. */
static const char *pattern_of(const struct tl__report *r, uint32_t site)
{
	for (size_t i = 0; i < r->nfindings; i++) /* most severe first */
		if (r->findings[i].site == site && r->findings[i].severity > TL_SEV_NOTE)
			return r->findings[i].pattern;
	return NULL;
}

static int add_site(struct tl_pprof *p, struct maps *m, const struct tl__report *r, uint32_t i,
		    bool with_pid)
{
	const struct tl__an_site *s = &r->a->sites[i];
	const struct tl__an_inuse *in = &s->at;
	struct tl_pprof_label labels[4];
	uint64_t locs[FRAMES_MAX];
	int64_t values[4] = {(int64_t)s->created, (int64_t)s->alloc_bytes, (int64_t)in->count,
			     (int64_t)in->bytes};
	size_t nl = 0, n = stack(p, m, r, s->stack, locs);
	const char *pattern = pattern_of(r, i);

	labels[nl++] = (struct tl_pprof_label){"timer_kind", tl_kind_name((int)s->kind), 0, NULL};
	if (pattern)
		labels[nl++] = (struct tl_pprof_label){"pattern", pattern, 0, NULL};
	if (in->count)
		labels[nl++] = (struct tl_pprof_label){"age", NULL, in->mean_age / 1000000 * 1000000,
						       "nanoseconds"};
	if (with_pid)
		labels[nl++] = (struct tl_pprof_label){"pid", NULL, (int64_t)r->a->proc.pid, NULL};
	return tl_pprof_sample(p, locs, n, values, labels, nl);
}

int tl__pprof_out_write(const struct tl__report *r, int fd)
{
	return tl__pprof_out_write_many(&r, 1, fd);
}

int tl__pprof_out_write_many(const struct tl__report *const *reps, size_t nrep, int fd)
{
	static const struct tl_pprof_value_type types[] = {
		{"alloc_objects", "count"},
		{"alloc_space", "bytes"},
		{"inuse_objects", "count"},
		{"inuse_space", "bytes"},
	};
	const struct tl__analysis *a = reps[0]->a;
	int64_t at = tl__an_at_time(a);
	struct tl_pprof *p = tl_pprof_new(types, 4);
	struct maps *m = calloc(1, sizeof(*m));
	char comment[256];
	int err = 0;

	if (!p || !m) {
		err = -ENOMEM;
		goto out;
	}
	tl_pprof_set_period(p, "space", "bytes", 1);
	tl_pprof_set_time(p, (int64_t)(a->proc.wall_ns + (uint64_t)tl__an_since(at, a->proc.start)),
			  tl__an_since(at, a->proc.start));
	if (nrep == 1)
		snprintf(comment, sizeof(comment), "timerleak: timers of %s, in use at %.3f s",
			 a->proc.exe ? a->proc.exe : "?", tl__an_secs(a, at));
	else
		snprintf(comment, sizeof(comment),
			 "timerleak: timers of %zu processes, in use now (label pid)", nrep);
	tl_pprof_add_comment(p, comment);
	for (size_t k = 0; k < nrep && !err; k++) {
		/* Each process its own mappings: the same address is another
		 * place in another process. pprof's "File:" is the first
		 * mapping's: the program, not whichever library the first
		 * sample's leaf is in. */
		m->n = 0;
		main_mapping_first(p, m, reps[k]);
		for (uint32_t i = 0; i < reps[k]->a->nsites && !err; i++)
			if (add_site(p, m, reps[k], i, nrep > 1) != 0)
				err = -ENOMEM;
	}
	if (!err)
		err = tl_pprof_write_fd(p, fd);
out:
	free(m);
	tl_pprof_free(p);
	return err;
}
