/*
 * analyzer_ops.h - the analysis fuzzer's structured input: a trace as a
 * sequence of operations, each turned into one record by the trace writer.
 *
 * Whole trace files are a poor way to reach the analysis: almost every
 * mutation of one breaks a chunk check or zstd's checksum, and the reader
 * skips the chunk. Operations reach the analysis instead, in any order:
 * creates, frees and resets of ids never created or already freed, huge
 * counts and durations, times that go backwards, stacks defined twice or
 * never, a chunk boundary anywhere.
 *
 * Input (tests/analyzer_fuzz.c): byte 0 is the mode, byte 1 the report's
 * options, the rest the trace.
 *   - byte 0 bit 0 set: the rest is a whole trace file;
 *   - bit 0 clear: the rest is operations. Bit 1 writes a process record
 *     first, bits 2-3 a runtime record of that mode (0: none), bits 4-7
 *     are the writer's time_shift.
 *   - byte 1: bits 0-1 when --pprof's live timers are taken (0 the end,
 *     1 snapshot 1 + bits 2-3, else bits 2-7 ms in), bits 6-7 --min-count
 *     (0: the default).
 * Each operation is an opcode byte (modulo AN_OP_COUNT) and its fields as
 * LEB128 varints ("s": zigzag-encoded signed); input that ends inside an
 * operation reads as zeros.
 *
 *   event ops (create..free)  s dt, s id delta, tid, then by type:
 *       create   kind, stack, s duration, s period, size, aux
 *       arm      s value, s interval, flags
 *       stop     flags
 *       reset    stack, s duration, s period, flags
 *       fire     flags
 *   stack     id, n, n frames
 *   dropped   s dt, tid, count, reason
 *   snapshot  s dt, seq
 *   runtime   s dt, mode, name (0 libgotimer, 1 empty, else "other")
 *   process   pid, flags, s mono_ns delta from the current time
 *   flush     (the current chunk ends here)
 *   end       s dt, events, dropped
 *
 * tests/analyzer_gen.c (fuzzseed) encodes a recorded trace this way, for
 * the seed corpus.
 */
#ifndef TL_ANALYZER_OPS_H
#define TL_ANALYZER_OPS_H

#include <stddef.h>
#include <stdint.h>

enum an_op {
	/* Events, in the order of TL_REC_CREATE..TL_REC_FREE. */
	AN_OP_CREATE,
	AN_OP_ARM,
	AN_OP_STOP,
	AN_OP_RESET,
	AN_OP_FIRE,
	AN_OP_DRAIN,
	AN_OP_RELEASE,
	AN_OP_FREE,
	AN_OP_STACK,
	AN_OP_DROPPED,
	AN_OP_SNAPSHOT,
	AN_OP_RUNTIME,
	AN_OP_PROCESS,
	AN_OP_FLUSH,
	AN_OP_END,
	AN_OP_COUNT,
};

#define AN_MODE_FILE	 0x01
#define AN_MODE_PROCESS	 0x02
#define AN_MODE_RUNTIME(b) (((b) >> 2) & 3)
#define AN_MODE_SHIFT(b)   ((unsigned)(b) >> 4)

/* The base of every structured trace's clock: a machine up for 1000 s. */
#define AN_T0 (1000LL * 1000000000LL)

/* A cursor over the operations; reading past the end gives zeros. */
struct an_in {
	const uint8_t *p, *end;
};

static inline int an_more(const struct an_in *in)
{
	return in->p < in->end;
}

static inline uint8_t an_byte(struct an_in *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

static inline uint64_t an_var(struct an_in *in)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b = an_byte(in);

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static inline int64_t an_svar(struct an_in *in)
{
	uint64_t u = an_var(in);

	return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

/* Writing them: out must have room for 10 bytes. @return bytes written. */
static inline size_t an_put_var(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	do {
		out[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		out[n] |= v ? 0x80 : 0;
		n++;
	} while (v);
	return n;
}

static inline size_t an_put_svar(uint8_t *out, int64_t v)
{
	uint64_t u = (uint64_t)v;

	return an_put_var(out, (u << 1) ^ (0 - (u >> 63)));
}

#endif /* TL_ANALYZER_OPS_H */
