# timerleak-report, the offline analyzer, tested end to end: every testdata
# program recorded under libtimerleak.so and reported (the pattern, the
# creating call's file:line and the severity docs/detectors.md wants), the
# seed experiment, traces whose binary moved or was rebuilt, traces with
# drops, cut short or from a newer format, the exit codes and options, and
# synthetic traces at each detector's thresholds (tests/analyzer_test.py,
# one ctest entry per case, analyzer.<case>); the report's text against
# expected output (tests/analyzer_cli.sh, tests/analyzer_cli/); and the
# analysis under libFuzzer (tests/analyzer_fuzz.c).
#
# Each case runs in a directory of its own, ${tl_an_dir}/<case>, kept for a
# look after a failure (commands.log there holds every command and its
# output).

find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
	message(WARNING "analyzer tests: python3 not found; they will fail (scripts/setup installs it)")
	set(Python3_EXECUTABLE python3)
endif()
pkg_check_modules(TL_AN_DW REQUIRED IMPORTED_TARGET libdw)
find_package(ZLIB REQUIRED)

set(tl_an_dir ${CMAKE_CURRENT_BINARY_DIR}/analyzer)

# Synthetic traces, written through the trace writer, and the fuzzer's
# seeds from recorded ones.
add_executable(analyzer_gen analyzer_gen.c)
target_link_libraries(analyzer_gen PRIVATE tltrace)

# The analyzer's sources, as analyzer/CMakeLists.txt lists them.
tl_target_sources(tl_an_sources tlanalysis tlsym)

# The analyzer again, under AddressSanitizer and UndefinedBehaviorSanitizer:
# every case also runs it on every trace it made (text, JSON, --events,
# --pprof, --timeline) and expects what the plain one printed. A build
# that is sanitized as a whole has no need of it.
set(tl_an_san "TL_RECORD=0")
if(NOT TL_SANITIZERS)
	tl_sanitized_copy(timerleak-report-san timerleak-report SOURCES_OF tlanalysis tlsym
		FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all)
	set(tl_an_san "TL_RECORD=1;TL_REPORT_SAN=$<TARGET_FILE:timerleak-report-san>")

	# And under ThreadSanitizer, for the reader thread (analyzer/pipe.c).
	# The trace library is compiled in, so that its accesses are seen too.
	tl_sanitized_copy(timerleak-report-tsan timerleak-report
		SOURCES_OF tlanalysis tlsym tltrace tlpprof FLAGS -fsanitize=thread)
endif()

set(tl_an_env
	"TL_SOURCE=${PROJECT_SOURCE_DIR}"
	"TL_REPORT=$<TARGET_FILE:timerleak-report>"
	"TL_GEN=$<TARGET_FILE:analyzer_gen>"
	"TL_PRELOAD=$<TARGET_FILE:timerleak>"
	"TL_TESTDATA=$<TARGET_FILE_DIR:leak_ticker>"
	"TL_CC=${CMAKE_C_COMPILER}"
	"ASAN_OPTIONS=detect_leaks=1:halt_on_error=1"
	"UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
	${tl_an_san})

# tl_analyzer_test(<case> [TIMEOUT <s>] [NAME <test>]): analyzer.<case>, or
# <test>. Exit 77 means skipped.
function(tl_analyzer_test case)
	cmake_parse_arguments(A "" "TIMEOUT;NAME" "" ${ARGN})
	if(NOT A_TIMEOUT)
		set(A_TIMEOUT 120)
	endif()
	if(NOT A_NAME)
		set(A_NAME analyzer.${case})
	endif()
	add_test(NAME ${A_NAME}
		COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/analyzer_test.py ${case})
	set_tests_properties(${A_NAME} PROPERTIES
		ENVIRONMENT "${tl_an_env};TL_WORK=${tl_an_dir}/${case}"
		LABELS analyzer TIMEOUT ${A_TIMEOUT} SKIP_RETURN_CODE 77)
endfunction()

# 1. Synthetic traces at the detectors' thresholds, drops, odd events, the
# options and exit codes: no recorder needed.
foreach(case gen.drops gen.not_freed gen.ticks gen.churn gen.resets.none gen.resets.async
		gen.resets.sync gen.callbacks gen.unknown gen.forever gen.id_rules gen.attached gen.sparse_stack
		gen.late_create gen.far_start gen.lost gen.snapshots gen.go.async gen.go.sync gen.no_events concatenated outputs man min_count.gen
		fail_on usage newer.gen truncated.header)
	tl_analyzer_test(${case})
endforeach()

# 2. Recorded programs. A sanitized libtimerleak.so cannot be preloaded
# into programs that are not (see the preload tests), so a sanitized build
# runs only the cases above.
if(NOT TL_SANITIZERS)
	foreach(prog leak_ticker ok_ticker leak_after_loop ok_timer_reset leak_reset_nodrain
			ok_reset_drain leak_afterfunc ok_afterfunc demo_service)
		foreach(mode async sync)
			tl_analyzer_test(td.${prog}.${mode})
		endforeach()
	endforeach()
	foreach(prog leak_timerfd ok_timerfd leak_posix_timer leak_posix_timer_none
			ok_posix_timer ok_daemon leak_daemon)
		tl_analyzer_test(td.${prog})
	endforeach()
	# The seed: 100,000 messages.
	tl_analyzer_test(seed.async)
	tl_analyzer_test(seed.sync)
	foreach(case symbols.moved symbols.sysroot symbols.rebuilt drops.full_disk
			truncated.chunks newer.recorded min_count.recorded json.non_utf8 suppress)
		tl_analyzer_test(${case})
	endforeach()
endif()

# 3. The report's text, as command plus expected output
# (tests/analyzer_cli/<case>.expected; UPDATE=1 tests/analyzer_cli.sh ...
# rewrites one). The cases on recorded programs need the recorder.
file(GLOB tl_an_cli_cases RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}/analyzer_cli
	CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/analyzer_cli/*.expected)
foreach(expected IN LISTS tl_an_cli_cases)
	string(REGEX REPLACE "\\.expected$" "" case ${expected})
	if(TL_SANITIZERS AND case MATCHES "^recorded_")
		continue()
	endif()
	add_test(NAME analyzer_cli.${case}
		COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/analyzer_cli.sh ${case}
			$<TARGET_FILE:timerleak-report> $<TARGET_FILE:analyzer_gen>
			${CMAKE_CURRENT_SOURCE_DIR}/analyzer_cli ${tl_an_dir}/cli)
	set_tests_properties(analyzer_cli.${case} PROPERTIES LABELS "analyzer;cli" TIMEOUT 120
		ENVIRONMENT "TL_PRELOAD=$<TARGET_FILE:timerleak>;TL_TESTDATA=$<TARGET_FILE_DIR:leak_ticker>")
endforeach()

# 4. The analysis under libFuzzer, built like the trace reader's fuzzer
# (tests/CMakeLists.txt): clang compiles the target with the analyzer's and
# the trace library's sources in one custom command, only when clang can
# link -fsanitize=fuzzer here. Seeds: recorded traces of the testdata
# programs (whole, and as operations) and the synthetic ones; the corpus it
# grows stays in the build tree. analyzer_fuzz.regress replays the seeds
# and the corpus once, analyzer_fuzz.run fuzzes for TL_FUZZ_SECONDS.
if(tl_fuzz_ok)
	tl_target_sources(tl_an_fuzz_trace tltrace tlpprof)
	file(GLOB tl_an_fuzz_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/trace/*.h
		${PROJECT_SOURCE_DIR}/analyzer/*.h ${PROJECT_SOURCE_DIR}/pprof-export/*.h)
	set(an_fuzz ${CMAKE_CURRENT_BINARY_DIR}/analyzer_fuzz)
	add_custom_command(OUTPUT ${an_fuzz}
		COMMAND ${TL_CLANG} -g -O1 -std=gnu11 -D_GNU_SOURCE -DTL_VERSION="fuzz"
			-Wall -Wextra -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
			-I${PROJECT_SOURCE_DIR}/trace -I${PROJECT_SOURCE_DIR}/analyzer -I${PROJECT_SOURCE_DIR}/bpf
			-I${PROJECT_SOURCE_DIR}/pprof-export -I${CMAKE_CURRENT_SOURCE_DIR}
			${ZSTD_CFLAGS} ${TL_AN_DW_CFLAGS}
			${CMAKE_CURRENT_SOURCE_DIR}/analyzer_fuzz.c ${tl_an_sources}
			${tl_an_fuzz_trace} ${TL_AN_DW_LDFLAGS} -lz ${ZSTD_LDFLAGS} -o ${an_fuzz}
		DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/analyzer_fuzz.c
			${CMAKE_CURRENT_SOURCE_DIR}/analyzer_ops.h ${tl_an_sources}
			${tl_an_fuzz_trace}
			${tl_an_fuzz_headers}
		COMMENT "Building the analysis fuzzer with clang"
		VERBATIM)
	add_custom_target(analyzer_fuzz ALL DEPENDS ${an_fuzz})

	set(fdir ${tl_an_dir}/fuzz)
	file(MAKE_DIRECTORY ${fdir}/corpus ${fdir}/artifacts)
	tl_analyzer_test(fuzz_seeds NAME analyzer_fuzz.seeds)
	set_tests_properties(analyzer_fuzz.seeds PROPERTIES FIXTURES_SETUP analyzer_fuzz_seeds
		LABELS "analyzer;fuzz"
		ENVIRONMENT "${tl_an_env};TL_WORK=${fdir}/work;TL_FUZZ_SEEDS=${fdir}/seeds")
	add_test(NAME analyzer_fuzz.regress
		COMMAND ${an_fuzz} -runs=0 -rss_limit_mb=2048 -timeout=30
			-artifact_prefix=${fdir}/artifacts/ ${fdir}/corpus ${fdir}/seeds)
	add_test(NAME analyzer_fuzz.run
		COMMAND ${an_fuzz} -max_total_time=${TL_FUZZ_SECONDS} -max_len=65536
			-rss_limit_mb=2048 -timeout=10 -print_final_stats=1
			-artifact_prefix=${fdir}/artifacts/ ${fdir}/corpus ${fdir}/seeds)
	set_tests_properties(analyzer_fuzz.regress analyzer_fuzz.run PROPERTIES
		FIXTURES_REQUIRED analyzer_fuzz_seeds LABELS "analyzer;fuzz" TIMEOUT 600
		ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:halt_on_error=1;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
endif()

# The report with its reader thread, under ThreadSanitizer, on a synthetic
# trace of a busy service (bench/gen_trace: hundreds of batches, with stacks
# and other records among the events).
if(TARGET timerleak-report-tsan)
	add_test(NAME analyzer.tsan.pipe
		COMMAND sh -c "\"$1\" --events 300000 \"$3\" >/dev/null && \"$2\" \"$3\" >/dev/null && \"$2\" --json --pprof \"$3.pb.gz\" \"$3\" >/dev/null"
			sh $<TARGET_FILE:gen_trace> $<TARGET_FILE:timerleak-report-tsan>
			${tl_an_dir}/tsan.tlk)
	set_tests_properties(analyzer.tsan.pipe PROPERTIES LABELS "analyzer;tsan"
		ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1")
endif()
