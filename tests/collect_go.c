/*
 * collect_go.c - bpf/collect.c's Go events, without a kernel: events as
 * the BPF side makes them, fed to the collector, and the trace it writes
 * read back.
 */
#include "collect.h"
#include "record.h"
#include "tl_test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SEND_TIME 0x4a0000
#define READY 0x4b0000
#define TIMER 0xc000010000ull

/* The Go 1.19 layout's event type of the probe on func. */
static uint16_t type_of(const char *func)
{
	const struct tlr_go_layout *l = tlr_go_layout(19);

	for (size_t i = 0; l && i < l->nprobes; i++)
		if (strcmp(l->probes[i].func, func) == 0)
			return (uint16_t)(l->probes[i].cookie & TLR_COOKIE_TYPE);
	return 0;
}

struct run {
	int fd;
	struct tl_trace_writer *w;
	struct tlr_collector *c;
	uint64_t time;
};

static void start(struct run *r)
{
	struct tl_trace_writer_opts wo = {0};
	struct tlr_collect_opts co = {.pid = 1};
	struct tlr_go go = {.layout = tlr_go_layout(19), .send_time = SEND_TIME, .ready = READY};
	struct tl_process p = {.pid = 1, .exe = "/go", .unwinder = "bpf"};
	int err;

	r->fd = memfd_create("collect_go", 0);
	r->w = tl_trace_writer_new(r->fd, &wo, &err);
	co.w = r->w;
	r->c = tlr_collect_new(&co);
	tlr_collect_go(r->c, &go);
	tl_trace_writer_process(r->w, &p);
	r->time = 1000000000;
}

/* A Go event of thread tid: timer t, its callback f, when (as the
 * timer holds it, and as modtimer's argument). */
static void event(struct run *r, const char *func, uint32_t tid, uint64_t t, uint64_t f,
		  uint64_t when)
{
	struct tlr_event e = {.time = r->time += 1000, .tid = tid, .type = type_of(func)};

	e.a[0] = t;
	e.a[1] = strcmp(func, "runtime.runOneTimer") == 0 ? t : when;
	e.mem[TLR_GO_WHEN] = when;
	e.mem[TLR_GO_FUNC] = f;
	e.mem[TLR_GO_STATE] = 1;
	tlr_collect_event(r->c, &e, TLR_EVENT_HEAD);
}

/* The trace's events, as "create:KIND" "free" "reset" ... in order. */
static void finish(struct run *r, char *out, size_t size)
{
	struct tl_trace_reader *rd;
	struct tl_record rec;
	int err;

	tl_trace_writer_end(r->w, (int64_t)r->time + 1000, 0, 0);
	tl_trace_writer_free(r->w);
	tlr_collect_free(r->c);
	lseek(r->fd, 0, SEEK_SET);
	rd = tl_trace_reader_open_fd(r->fd, &err);
	out[0] = 0;
	while (rd && tl_trace_reader_next(rd, &rec) > 0) {
		char one[48] = "";

		if (rec.type == TL_REC_CREATE)
			snprintf(one, sizeof(one), "create:%s ", tl_kind_name((int)rec.ev.kind));
		else if (rec.type == TL_REC_EXISTING)
			snprintf(one, sizeof(one), "existing:%s ", tl_kind_name((int)rec.ev.kind));
		else if (rec.type == TL_REC_FREE)
			snprintf(one, sizeof(one), "free ");
		else if (rec.type == TL_REC_RESET)
			snprintf(one, sizeof(one), "reset ");
		else if (rec.type == TL_REC_STOP)
			snprintf(one, sizeof(one), "stop ");
		strncat(out, one, size - strlen(out) - 1);
	}
	tl_trace_reader_close(rd);
}

/* A Timer collected, and its memory given to a goroutine's Sleep timer:
 * the Sleep is a new timer of its own, not a reset of the Timer. */
TEST(reuse_by_another_kind)
{
	struct run r;
	char got[512];

	start(&r);
	event(&r, "runtime.addtimer", 7, TIMER, SEND_TIME, 5000000000);
	event(&r, "runtime.deltimer", 7, TIMER, SEND_TIME, 5000000000);
	event(&r, "runtime.modtimer", 8, TIMER, READY, 6000000000);
	event(&r, "runtime.modtimer", 8, TIMER, READY, 7000000000);
	finish(&r, got, sizeof(got));
	CHECK_STR(got, "create:go-timer stop free create:go-sleep reset ");
}

/* The probe hit twice for one call (the function entered again after its
 * stack grew): one create, one reset. */
TEST(repeat_after_morestack)
{
	struct run r;
	char got[512];

	start(&r);
	event(&r, "runtime.addtimer", 7, TIMER, SEND_TIME, 5000000000);
	event(&r, "runtime.addtimer", 7, TIMER, SEND_TIME, 5000000000);
	event(&r, "runtime.modtimer", 7, TIMER, SEND_TIME, 6000000000);
	event(&r, "runtime.modtimer", 7, TIMER, SEND_TIME, 6000000000);
	/* another thread's create at the address is no repeat: a new timer */
	event(&r, "runtime.addtimer", 9, TIMER, SEND_TIME, 6000000000);
	finish(&r, got, sizeof(got));
	CHECK_STR(got, "create:go-timer reset free create:go-timer ");
}

/* Timers made before the recording are existing ones, first seen where
 * they are used. */
TEST(made_before)
{
	struct run r;
	char got[512];

	start(&r);
	event(&r, "runtime.deltimer", 7, TIMER, SEND_TIME, 5000000000);
	event(&r, "runtime.modtimer", 7, TIMER + 0x100, READY, 5000000000);
	finish(&r, got, sizeof(got));
	CHECK_STR(got, "existing:go-timer stop create:go-sleep ");
}

TEST_MAIN()
