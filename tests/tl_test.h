/*
 * tl_test.h - the smallest test harness that does the job.
 *
 * A test file defines cases with TEST(name) { ... } and ends with
 * TEST_MAIN(). The binary runs every case, or the one named in argv[1].
 * tests/CMakeLists.txt reads the TEST(...) lines and registers each case
 * with ctest on its own (once per channel mode for runtime tests).
 *
 * CHECK* report the file, line and values and fail the case; the case
 * goes on, so one run shows every broken expectation. REQUIRE* stop it.
 */
#ifndef TL_TEST_H
#define TL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tl_test_case {
	const char *name;
	void (*fn)(void);
};

#define TL_TEST_MAX 256
extern struct tl_test_case tl_test_cases[TL_TEST_MAX];
extern int tl_test_ncases;
extern int tl_test_failed;

#define TEST(name)                                                                                 \
	static void test_##name(void);                                                             \
	__attribute__((constructor)) static void register_##name(void)                            \
	{                                                                                          \
		if (tl_test_ncases < TL_TEST_MAX)                                                  \
			tl_test_cases[tl_test_ncases++] = (struct tl_test_case){#name, test_##name};   \
	}                                                                                          \
	static void test_##name(void)

#define TL_FAIL_(...)                                                                              \
	do {                                                                                       \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                     \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		tl_test_failed = 1;                                                                \
	} while (0)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			TL_FAIL_("CHECK(%s) failed", #cond);                                       \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_)                                                                      \
			TL_FAIL_("CHECK_EQ(%s, %s) failed: %lld != %lld", #a, #b, a_, b_);          \
	} while (0)

/* lo <= v <= hi */
#define CHECK_RANGE(v, lo, hi)                                                                     \
	do {                                                                                       \
		long long v_ = (long long)(v), lo_ = (long long)(lo), hi_ = (long long)(hi);       \
		if (v_ < lo_ || v_ > hi_)                                                          \
			TL_FAIL_("CHECK_RANGE(%s) failed: %lld not in [%lld, %lld]", #v, v_, lo_,   \
				 hi_);                                                             \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                             \
			TL_FAIL_("CHECK_STR(%s, %s) failed: \"%s\" != \"%s\"", #a, #b,              \
				 a_ ? a_ : "(null)", b_ ? b_ : "(null)");                          \
	} while (0)

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			TL_FAIL_("REQUIRE(%s) failed", #cond);                                     \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define TEST_MAIN()                                                                                \
	struct tl_test_case tl_test_cases[TL_TEST_MAX];                                            \
	int tl_test_ncases;                                                                        \
	int tl_test_failed;                                                                        \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		int ran = 0, failed = 0;                                                           \
		for (int i = 0; i < tl_test_ncases; i++) {                                         \
			if (argc > 1 && strcmp(argv[1], tl_test_cases[i].name) != 0)               \
				continue;                                                          \
			tl_test_failed = 0;                                                        \
			tl_test_cases[i].fn();                                                     \
			printf("%s %s\n", tl_test_failed ? "FAIL" : "ok  ", tl_test_cases[i].name); \
			fflush(stdout);                                                            \
			failed += tl_test_failed;                                                  \
			ran++;                                                                     \
		}                                                                                  \
		if (ran == 0) {                                                                    \
			fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "(any)");   \
			return 2;                                                                  \
		}                                                                                  \
		return failed ? 1 : 0;                                                             \
	}

#endif /* TL_TEST_H */
