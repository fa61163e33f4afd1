# timerleak-record, attached with eBPF to programs already running
# (tests/record_test.py, one ctest entry per case, record.<case>): every
# testdata program recorded from outside from its first timer on (started
# paused by libtd_pause.so), reported like the shim's recording of the same
# run; daemons and the demo service attached after they have run a while;
# attach and detach again and again; a killed recorder; bad targets.
# Cases skip (77) where eBPF cannot run: not root, no BTF, no BPF program.
# The collector's Go events without a kernel (tests/collect_go.c): events
# as the BPF side makes them, the trace read back.
add_executable(collect_go collect_go.c ${PROJECT_SOURCE_DIR}/bpf/collect.c
	${PROJECT_SOURCE_DIR}/bpf/procfs.c ${PROJECT_SOURCE_DIR}/bpf/unwind.c)
target_include_directories(collect_go PRIVATE ${PROJECT_SOURCE_DIR}/bpf)
target_link_libraries(collect_go PRIVATE tltrace tlsym PkgConfig::LIBDW)
tl_register_cases(TARGET collect_go SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/collect_go.c
	LABELS record go)

set(tl_rec_env
	"TL_SOURCE=${PROJECT_SOURCE_DIR}"
	"TL_GO=${TL_GO}"
	"TL_RECORD=$<TARGET_FILE:timerleak-record>"
	"TL_REPORT=$<TARGET_FILE:timerleak-report>"
	"TL_PRELOAD=$<TARGET_FILE:timerleak>"
	"TL_PAUSE=$<TARGET_FILE:td_pause>"
	"TL_TESTDATA=$<TARGET_FILE_DIR:leak_ticker>"
	"TL_BIN=${CMAKE_CURRENT_BINARY_DIR}"
	"TL_WRAPPER=${PROJECT_BINARY_DIR}/timerleak")

function(tl_record_test case)
	cmake_parse_arguments(A "" "TIMEOUT" "" ${ARGN})
	if(NOT A_TIMEOUT)
		set(A_TIMEOUT 180)
	endif()
	add_test(NAME record.${case}
		COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/record_test.py ${case})
	set_tests_properties(record.${case} PROPERTIES LABELS "record" TIMEOUT ${A_TIMEOUT}
		SKIP_RETURN_CODE 77 RESOURCE_LOCK bpf
		ENVIRONMENT "${tl_rec_env};TL_WORK=${CMAKE_CURRENT_BINARY_DIR}/record/${case}")
endfunction()

foreach(prog leak_ticker ok_ticker leak_after_loop ok_timer_reset leak_reset_nodrain
		ok_reset_drain leak_afterfunc ok_afterfunc leak_timerfd ok_timerfd
		leak_posix_timer ok_posix_timer)
	tl_record_test(td.${prog})
endforeach()
foreach(case daemon.leak daemon.ok demo both_ways attach_detach kill9 bad.pid bad.exits
		bad.kernel_thread bad.self bad.killed bad.exit_detaching bad.disk_full serve fleet several_pids rotate prometheus usage wrapper)
	tl_record_test(${case})
endforeach()

# Go programs (tests/record_go_test.py): testdata/go's programs built with
# the machine's Go, plain and stripped, attached to while they run; the
# seed's consumer against Go's own heap profile; esbuild's stripped Go 1.19
# and Go 1.26 binaries from the npm registry (cached with the gosym tests');
# attach and detach under a busy Go loop; a Go version with no known layout.
function(tl_record_go_test case)
	set(lock bpf)
	if(case MATCHES "esbuild")
		set(lock bpf npm_cache)
	endif()
	add_test(NAME record.${case}
		COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/record_go_test.py ${case})
	set_tests_properties(record.${case} PROPERTIES LABELS "record;go" TIMEOUT 300
		SKIP_RETURN_CODE 77 RESOURCE_LOCK "${lock}"
		ENVIRONMENT "${tl_rec_env};TL_GO_SRC=${PROJECT_SOURCE_DIR}/testdata/go;TL_GOCACHE=${CMAKE_CURRENT_BINARY_DIR}/record/gocache;TL_NPM_CACHE=${CMAKE_CURRENT_BINARY_DIR}/gosym/npm;TL_WORK=${CMAKE_CURRENT_BINARY_DIR}/record/${case}")
endfunction()

foreach(prog leak_after_loop ok_timer_reset leak_ticker ok_ticker leak_afterfunc ok_afterfunc
		leak_reset_nodrain ok_reset_drain)
	tl_record_go_test(go.${prog})
	tl_record_go_test(go.${prog}.stripped)
endforeach()
foreach(case go.leak_after_loop.noinline go.leak_ticker.pie go.seed go.demo go.esbuild.go1.19 go.esbuild.go1.26 go.attach_detach go.bad_version)
	tl_record_go_test(${case})
endforeach()
