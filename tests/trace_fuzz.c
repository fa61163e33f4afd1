/*
 * trace_fuzz.c - libFuzzer target for the trace reader: open the input from
 * memory and read every record, touching every byte each record points at,
 * so that AddressSanitizer sees any pointer the reader gets wrong.
 *
 * Input: byte 0 chooses the mode.
 *  - bit 0 set: the rest is a whole trace file, as read from disk;
 *  - bit 0 clear: the rest is one chunk payload (records), which the target
 *    wraps into a valid file: of format 1.2 (rows) when bit 1 is set, else
 *    of this version (streams); time_shift (byte 0 >> 2) % 21. Almost every
 *    mutation of a whole file breaks a chunk check or zstd's checksum, so
 *    without this mode the fuzzer would rarely get past them to the record
 *    decoder.
 * trace_gen seeds DIR writes seeds of both kinds from real traces.
 *
 * Built by clang with -fsanitize=fuzzer,address,undefined (tests/
 * CMakeLists.txt), from the trace sources directly.
 */
#include "internal.h"
#include "tl_trace.h"

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += b[i];
	sink += s;
}

static void touch_str(const char *s)
{
	touch(s, strlen(s) + 1);
}

static void touch_record(const struct tl_record *r)
{
	switch (r->type) {
	case TL_REC_PROCESS:
		touch_str(r->process.exe);
		for (uint32_t i = 0; i < r->process.argc; i++)
			touch_str(r->process.argv[i]);
		touch_str(r->process.hostname);
		touch_str(r->process.unwinder);
		break;
	case TL_REC_THREAD:
		touch_str(r->thread.name);
		break;
	case TL_REC_MODULE:
		touch(r->module.build_id, r->module.build_id_len);
		touch_str(r->module.path);
		touch(r->module.segs, r->module.nseg * sizeof(*r->module.segs));
		break;
	case TL_REC_STACK:
		touch(r->stack.frames, r->stack.n * sizeof(*r->stack.frames));
		break;
	case TL_REC_RUNTIME:
		touch_str(r->runtime.name);
		touch_str(r->runtime.version);
		break;
	}
	touch_str(tl_rec_name(r->type));
}

static void read_all(const uint8_t *p, size_t n)
{
	struct tl_trace_reader_stats st;
	struct tl_trace_reader *r;
	struct tl_record rec;
	int err;

	r = tl_trace_reader_open_mem(p, n, &err);
	if (!r) {
		touch_str(tl_trace_strerror(err));
		return;
	}
	while (tl_trace_reader_next(r, &rec) == 1)
		touch_record(&rec);
	tl_trace_reader_stats(r, &st);
	if (st.file_bytes != n) /* a reader that stopped early, or read past the end */
		abort();
	tl_trace_reader_close(r);
}

/* The payload as the one chunk of a file: header, chunk header, frame. */
static void read_payload(const uint8_t *p, size_t n, unsigned major, unsigned shift)
{
	static ZSTD_CCtx *cctx;
	size_t bound = ZSTD_compressBound(n), k;
	struct tl__chunk_header h = {.raw_size = (uint32_t)n, .compression = TL__COMPRESSION_ZSTD,
				     .base_time = 1000};
	uint8_t *f;

	if (n > TL_TRACE_MAX_CHUNK)
		return;
	if (!cctx) {
		cctx = ZSTD_createCCtx();
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	}
	f = malloc(TL_TRACE_FILE_HEADER + TL__CHUNK_HEADER + bound);
	if (!f)
		return;
	memset(f, 0, TL_TRACE_FILE_HEADER);
	memcpy(f, tl__file_magic, sizeof(tl__file_magic));
	tl__put_le16(f + 8, (uint16_t)major);
	tl__put_le16(f + 10, major == 1 ? 2 : TL_TRACE_MINOR);
	f[12] = (uint8_t)shift;
	k = ZSTD_compress2(cctx, f + TL_TRACE_FILE_HEADER + TL__CHUNK_HEADER, bound, p, n);
	if (!ZSTD_isError(k)) {
		h.compressed_size = (uint32_t)k;
		tl__chunk_header_put(f + TL_TRACE_FILE_HEADER, &h);
		read_all(f, TL_TRACE_FILE_HEADER + TL__CHUNK_HEADER + k);
	}
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		read_all(data + 1, size - 1);
	else
		read_payload(data + 1, size - 1, data[0] & 2 ? 1 : TL_TRACE_MAJOR,
			     (data[0] >> 2) % (TL_TRACE_MAX_SHIFT + 1));
	return 0;
}
