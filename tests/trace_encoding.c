/*
 * trace_encoding.c - the format's byte-level pieces: varints at their
 * limits, zigzag, the chunk header and its check, the file header.
 */
#include "trace_test_util.h"

static int decode(const uint8_t *p, size_t n, uint64_t *v, size_t *used)
{
	uint8_t buf[16];
	struct tl__cur c = {buf, buf + n};
	int err;

	memcpy(buf, p, n);
	err = tl__get_varint(&c, v);
	*used = (size_t)(c.p - buf);
	return err;
}

TEST(varint_roundtrip_limits)
{
	static const uint64_t values[] = {0, 1, 127, 128, 255, 16383, 16384, UINT32_MAX,
					  (uint64_t)UINT32_MAX + 1, INT64_MAX,
					  (uint64_t)INT64_MAX + 1, UINT64_MAX - 1, UINT64_MAX};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint8_t buf[TL__VARINT_MAX];
		size_t n = tl__varint_put(buf, values[i]), used;
		uint64_t v = 0;

		CHECK_EQ(n, tl__varint_len(values[i]));
		CHECK_EQ(decode(buf, n, &v, &used), 0);
		CHECK_EQ(used, n);
		CHECK(v == values[i]);
		/* Every proper prefix is cut short. */
		for (size_t k = 0; k < n; k++)
			CHECK_EQ(decode(buf, k, &v, &used), TL_TRACE_E_BAD_RECORD);
	}
	{
		uint8_t buf[TL__VARINT_MAX];

		CHECK_EQ(tl__varint_put(buf, 0), 1);
		CHECK_EQ(tl__varint_put(buf, 127), 1);
		CHECK_EQ(tl__varint_put(buf, 128), 2);
		CHECK_EQ(tl__varint_put(buf, UINT64_MAX), 10);
	}
}

TEST(varint_refuses_overflow)
{
	/* 10 bytes whose last holds more than bit 63; 11 bytes. */
	uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	uint8_t eleven[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
	uint8_t max[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	/* A long but harmless encoding of 0 (9 continuation bytes) is read. */
	uint8_t zero10[10] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
	uint64_t v;
	size_t used;

	CHECK_EQ(decode(over, 10, &v, &used), TL_TRACE_E_BAD_RECORD);
	CHECK_EQ(used, 0);
	CHECK_EQ(decode(eleven, 11, &v, &used), TL_TRACE_E_BAD_RECORD);
	CHECK_EQ(decode(max, 10, &v, &used), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(decode(zero10, 10, &v, &used), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(decode(max, 0, &v, &used), TL_TRACE_E_BAD_RECORD);
}

TEST(varint32_and_spans)
{
	uint8_t buf[32];
	struct tl__cur c;
	uint32_t v32, len;
	uint8_t *p;
	size_t n;

	n = tl__varint_put(buf, UINT32_MAX);
	c = (struct tl__cur){buf, buf + n};
	CHECK_EQ(tl__get_varint32(&c, &v32), 0);
	CHECK(v32 == UINT32_MAX);
	n = tl__varint_put(buf, (uint64_t)UINT32_MAX + 1);
	c = (struct tl__cur){buf, buf + n};
	CHECK_EQ(tl__get_varint32(&c, &v32), TL_TRACE_E_BAD_RECORD);
	CHECK(c.p == buf); /* not advanced */

	/* A span: length 3, then 3 bytes; then one claiming more than is left. */
	buf[0] = 3;
	memcpy(buf + 1, "abc", 3);
	buf[4] = 5;
	c = (struct tl__cur){buf, buf + 7};
	CHECK_EQ(tl__get_span(&c, 10, &p, &len), 0);
	CHECK_EQ(len, 3);
	CHECK(p == buf + 1);
	CHECK_EQ(tl__get_span(&c, 10, &p, &len), TL_TRACE_E_BAD_RECORD);
	CHECK(c.p == buf + 4);
	c = (struct tl__cur){buf, buf + 7};
	CHECK_EQ(tl__get_span(&c, 2, &p, &len), TL_TRACE_E_TOO_BIG);
}

TEST(zigzag)
{
	static const int64_t values[] = {0, -1, 1, -2, 2, INT64_MAX, INT64_MIN, INT64_MIN + 1,
					 -1000000007};

	CHECK_EQ(tl__zigzag(0), 0);
	CHECK_EQ(tl__zigzag(-1), 1);
	CHECK_EQ(tl__zigzag(1), 2);
	CHECK(tl__zigzag(INT64_MIN) == UINT64_MAX);
	CHECK(tl__zigzag(INT64_MAX) == UINT64_MAX - 1);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		CHECK(tl__unzigzag(tl__zigzag(values[i])) == values[i]);
}

TEST(chunk_header)
{
	struct tl__chunk_header h = {.compressed_size = 100, .raw_size = 1000, .seq = 7,
				     .base_time = INT64_MIN, .compression = 1},
				g;
	uint8_t b[TL__CHUNK_HEADER];

	tl__chunk_header_put(b, &h);
	CHECK(memcmp(b, "TLCK", 4) == 0);
	CHECK_EQ(tl__get_le32(b + 4), 100);
	CHECK_EQ(tl__get_le32(b + 28), tl__fnv1a32(b, 28));
	CHECK_EQ(tl__chunk_header_get(b, &g), 0);
	CHECK_EQ(g.compressed_size, 100);
	CHECK_EQ(g.raw_size, 1000);
	CHECK_EQ(g.seq, 7);
	CHECK(g.base_time == INT64_MIN);
	for (int bit = 0; bit < TL__CHUNK_HEADER * 8; bit++) {
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK_EQ(tl__chunk_header_get(b, &g), TL_TRACE_E_BAD_CHUNK);
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* FNV-1a 32 of the empty input and of "a" (published test vectors). */
	CHECK_EQ(tl__fnv1a32("", 0), 0x811c9dc5u);
	CHECK_EQ(tl__fnv1a32("a", 1), 0xe40c292cu);
}

TEST(le_fields)
{
	uint8_t b[8];

	tl__put_le16(b, 0x1234);
	CHECK_EQ(b[0], 0x34);
	CHECK_EQ(tl__get_le16(b), 0x1234);
	tl__put_le32(b, 0xdeadbeef);
	CHECK_EQ(b[0], 0xef);
	CHECK_EQ(tl__get_le32(b), 0xdeadbeefu);
	tl__put_le64(b, 0x0102030405060708ull);
	CHECK_EQ(b[0], 0x08);
	CHECK(tl__get_le64(b) == 0x0102030405060708ull);
}

TEST_MAIN()
