# .gopclntab (bpf/gosym.c) against Go's own tools (tests/gosym_test.py, one
# ctest entry per case, gosym.<case>): every function's name and entry as
# `go tool nm` lists them, file and line as `go tool addr2line` gives them,
# in a Go program built here with the machine's Go, with and without
# symbols; esbuild's stripped binaries from the npm registry (Go 1.19 and
# Go 1.26); a binary that is not Go, and a damaged table. Cases skip (77)
# without a Go toolchain, or without the registry.
add_executable(gosym_dump gosym_dump.c ${PROJECT_SOURCE_DIR}/bpf/goinfo.c)
target_link_libraries(gosym_dump PRIVATE tlsym)

# The damaged tables are also read by a copy under AddressSanitizer and
# UndefinedBehaviorSanitizer, which a read past the table's end fails.
set(tl_gosym_san "$<TARGET_FILE:gosym_dump>")
if(NOT TL_SANITIZERS)
	tl_sanitized_copy(gosym_dump-san gosym_dump SOURCES_OF tlsym
		FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all)
	set(tl_gosym_san "$<TARGET_FILE:gosym_dump-san>")
endif()

set(tl_gosym_env
	"TL_GOSYM_DUMP_SAN=${tl_gosym_san}"
	"TL_GO=${TL_GO}"
	"TL_GOSYM_DUMP=$<TARGET_FILE:gosym_dump>"
	"TL_NOT_GO=$<TARGET_FILE:leak_ticker>"
	"TL_GEN=$<TARGET_FILE:analyzer_gen>"
	"TL_REPORT=$<TARGET_FILE:timerleak-report>"
	"TL_GO_SRC=${CMAKE_CURRENT_SOURCE_DIR}/gosym_go"
	"TL_NPM_CACHE=${CMAKE_CURRENT_BINARY_DIR}/gosym/npm")
foreach(case nm nm.stripped addr2line addr2line.stripped inline inline.stripped lookup not_go
		damaged
		esbuild.go1.19 esbuild.go1.26 probe_points probe_points.esbuild goinfo
		report report.stripped)
	add_test(NAME gosym.${case}
		COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/gosym_test.py ${case})
	set_tests_properties(gosym.${case} PROPERTIES LABELS "gosym" TIMEOUT 300
		SKIP_RETURN_CODE 77 RESOURCE_LOCK npm_cache
		ENVIRONMENT "${tl_gosym_env};TL_WORK=${CMAKE_CURRENT_BINARY_DIR}/gosym/${case}")
endforeach()
