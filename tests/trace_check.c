/*
 * trace_check - what a trace holds, in numbers a test can compare.
 *
 *   trace_check TRACE            summary lines (below)
 *   trace_check --sites TRACE    also each creation site, symbolized
 *   trace_check --has-timers TRACE
 *                                exit 0 as soon as a create is read, 1 if the
 *                                readable trace has none: a poll that costs
 *                                the same however long the trace grows
 *
 * Output, one fact per line, stable for tests:
 *   events <type> <kind> <count>      events per type and timer kind
 *   timers created <n> freed <n> live <n>
 *   orphans <n>                       events of ids never created in the trace
 *   double <n>                        second creates or frees of one id
 *   dropped <n>                       events the trace says were lost
 *   end clean|truncated
 *   site <kind> <count> <function> <file>:<line> [<caller> ...]   (--sites)
 *
 * Exit status: 0, or 2 if the trace cannot be read.
 */
#include "idmap.h"
#include "symbolize.h"
#include "tl_trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct timer {
	uint8_t kind;
	uint8_t created, freed;
};

struct site {
	uint32_t stack, kind;
	uint64_t count;
};

static struct tl__idmap ids;  /* trace id -> index into timers */
static struct timer *timers;
static size_t ntimers, captimers;
static uint64_t counts[0x20][TL_KIND_MAX + 1];
static uint64_t nframes_of[1 << 16];
static uint64_t *frames_of[1 << 16];
static struct site sites[4096];
static size_t nsites;
static uint64_t orphans, doubles, created, freed, dropped;

/* The timer of id, made on first sight (any id: a reloaded runtime's are
 * large). */
static struct timer *slot(uint64_t id)
{
	uint32_t i = tl__idmap_get(&ids, id);

	if (i != UINT32_MAX)
		return &timers[i];
	if (ntimers == captimers) {
		size_t ncap = captimers ? captimers * 2 : 4096;
		struct timer *n = realloc(timers, ncap * sizeof(*n));

		if (!n)
			return NULL;
		timers = n;
		captimers = ncap;
	}
	if (tl__idmap_put(&ids, id, (uint32_t)ntimers) != 0)
		return NULL;
	timers[ntimers] = (struct timer){0};
	return &timers[ntimers++];
}

static void count_site(uint32_t stack, uint32_t kind)
{
	for (size_t i = 0; i < nsites; i++) {
		if (sites[i].stack == stack && sites[i].kind == kind) {
			sites[i].count++;
			return;
		}
	}
	if (nsites < sizeof(sites) / sizeof(sites[0]))
		sites[nsites++] = (struct site){stack, kind, 1};
}

static void event(const struct tl_record *r)
{
	struct timer *t = slot(r->ev.id);

	if (!t)
		return;
	if (r->type == TL_REC_CREATE) {
		if (t->created)
			doubles++;
		t->created = 1;
		t->kind = (uint8_t)r->ev.kind;
		created++;
		count_site(r->ev.stack, r->ev.kind);
	} else if (!t->created) {
		orphans++;
	}
	if (r->type == TL_REC_FREE) {
		if (t->freed)
			doubles++;
		else if (t->created)
			freed++; /* a free of a timer never seen created is an orphan */
		t->freed = 1;
	}
	counts[r->type & 0x1f][t->kind <= TL_KIND_MAX ? t->kind : 0]++;
}

static void stack(const struct tl_record *r)
{
	uint32_t id = r->stack.id & 0xffff;

	free(frames_of[id]);
	frames_of[id] = malloc(r->stack.n * sizeof(uint64_t));
	if (!frames_of[id])
		return;
	memcpy(frames_of[id], r->stack.frames, r->stack.n * sizeof(uint64_t));
	nframes_of[id] = r->stack.n;
}

static void print_site(struct tl__sym *sym, const struct site *s)
{
	uint32_t id = s->stack & 0xffff;

	printf("site %s %" PRIu64, tl_kind_name((int)s->kind), s->count);
	for (uint64_t i = 0; i < nframes_of[id] && i < 8; i++) {
		struct tl__frame f[8];
		int n = tl__sym_lookup(sym, frames_of[id][i], true, INT64_MAX, f, 8);

		for (int k = 0; k < n; k++) {
			const char *file = f[k].file ? strrchr(f[k].file, '/') : NULL;

			printf(" %s", f[k].function ? f[k].function : "?");
			if (f[k].file)
				printf("@%s:%d", file ? file + 1 : f[k].file, f[k].line);
		}
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	bool want_sites = argc > 2 && strcmp(argv[1], "--sites") == 0;
	bool has_timers = argc > 2 && strcmp(argv[1], "--has-timers") == 0;
	const char *path = argv[argc - 1];
	struct tl__sym *sym = tl__sym_new(NULL);
	struct tl_trace_reader_stats st;
	struct tl_trace_reader *rd;
	struct tl_record r;
	int err, n;

	if (argc < 2) {
		fprintf(stderr, "usage: trace_check [--sites | --has-timers] TRACE\n");
		return 2;
	}
	rd = tl_trace_reader_open(path, &err);
	if (!rd || !sym) {
		fprintf(stderr, "trace_check: %s: %s\n", path, tl_trace_strerror(err));
		return 2;
	}
	while ((n = tl_trace_reader_next(rd, &r)) > 0) {
		if (has_timers && r.type == TL_REC_CREATE)
			break;
		if (tl_rec_is_event(r.type))
			event(&r);
		else if (r.type == TL_REC_STACK)
			stack(&r);
		else if (r.type == TL_REC_MODULE)
			tl__sym_module(sym, &r.module, r.time);
		else if (r.type == TL_REC_MODULE_UNLOAD)
			tl__sym_module_unload(sym, r.module_unload.id, r.time);
		else if (r.type == TL_REC_PROCESS)
			tl__sym_set_exe(sym, r.process.exe);
		else if (r.type == TL_REC_DROPPED)
			dropped += r.dropped.count;
	}
	if (has_timers) {
		tl_trace_reader_close(rd);
		tl__sym_free(sym);
		return n > 0 ? 0 : n < 0 ? 2 : 1;
	}
	tl_trace_reader_stats(rd, &st);
	for (int t = TL_REC_CREATE; t <= TL_REC_FREE; t++)
		for (int k = 0; k <= TL_KIND_MAX; k++)
			if (counts[t][k])
				printf("events %s %s %" PRIu64 "\n", tl_rec_name(t), tl_kind_name(k),
				       counts[t][k]);
	printf("timers created %" PRIu64 " freed %" PRIu64 " live %" PRIu64 "\n", created, freed,
	       created > freed ? created - freed : 0);
	printf("orphans %" PRIu64 "\ndouble %" PRIu64 "\ndropped %" PRIu64 "\n", orphans, doubles,
	       dropped);
	printf("end %s\n", st.clean_end ? "clean" : "truncated");
	for (size_t i = 0; want_sites && i < nsites; i++)
		print_site(sym, &sites[i]);
	tl_trace_reader_close(rd);
	tl__sym_free(sym);
	return n < 0 ? 2 : 0;
}
