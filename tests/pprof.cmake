# The pprof export, the timeline and the timerleak wrapper, end to end
# with the real `go tool pprof` (tests/pprof_test.py): each case its own
# ctest entry, pprof.<case>, run in a directory of its own under the build
# tree. The small programs the cases run beside testdata/ are in
# tests/pprof_prog.c; tests/pprof_go/ is the Go program whose heap profile
# (runtime/pprof) is the reference for the sample types.
#
# Go's build and pprof caches stay in the build tree (GOCACHE, GOPATH,
# HOME), so nothing is written outside it. A sanitized build cannot be
# preloaded (see the preload tests), so it runs none of these.

find_program(TL_GO NAMES go go-1.19 PATHS /usr/lib/go/bin /usr/lib/go-1.19/bin)
find_package(Python3 COMPONENTS Interpreter)

if(NOT TL_SANITIZERS)
	# Built like testdata/: every frame kept, so each site is found by name.
	include(CheckCCompilerFlag)
	set(tl_pp_flags -g -fno-omit-frame-pointer -fno-optimize-sibling-calls)
	check_c_compiler_flag(-mno-omit-leaf-frame-pointer TL_PP_HAVE_LEAF_FP)
	if(TL_PP_HAVE_LEAF_FP)
		list(APPEND tl_pp_flags -mno-omit-leaf-frame-pointer)
	endif()
	# Nor fold functions with the same code into one (each site its name).
	check_c_compiler_flag(-fno-ipa-icf TL_PP_HAVE_NO_ICF)
	if(TL_PP_HAVE_NO_ICF)
		list(APPEND tl_pp_flags -fno-ipa-icf)
	endif()
	add_executable(pprof_prog pprof_prog.c)
	target_compile_options(pprof_prog PRIVATE ${tl_pp_flags})
	target_include_directories(pprof_prog PRIVATE ${PROJECT_SOURCE_DIR}/testdata)
	target_link_libraries(pprof_prog PRIVATE gotimer Threads::Threads)

	if(NOT Python3_Interpreter_FOUND)
		message(WARNING "pprof tests: python3 not found; they will fail (scripts/setup installs it)")
		set(Python3_EXECUTABLE python3)
	endif()
	if(NOT TL_GO)
		message(WARNING "pprof tests: go not found; they will fail (scripts/setup installs golang-go)")
		set(TL_GO go)
	endif()

	set(tl_pp_dir ${CMAKE_CURRENT_BINARY_DIR}/pprof)
	set(tl_pp_env
		"TL_SOURCE=${PROJECT_SOURCE_DIR}"
		"TL_BUILD=${CMAKE_BINARY_DIR}"
		"TL_WRAPPER=${CMAKE_BINARY_DIR}/timerleak"
		"TL_PRELOAD=$<TARGET_FILE:timerleak>"
		"TL_REPORT=$<TARGET_FILE:timerleak-report>"
		"TL_TESTDATA=$<TARGET_FILE_DIR:leak_ticker>"
		"TL_PROG=$<TARGET_FILE:pprof_prog>"
		"TL_GO=${TL_GO}"
		"TL_GO_SRC=${CMAKE_CURRENT_SOURCE_DIR}/pprof_go"
		"TL_GO_HOME=${tl_pp_dir}/go")

	# tl_pprof_test(<case> [TIMEOUT <s>]): pprof.<case>.
	function(tl_pprof_test case)
		cmake_parse_arguments(A "" "TIMEOUT" "" ${ARGN})
		if(NOT A_TIMEOUT)
			set(A_TIMEOUT 120)
		endif()
		add_test(NAME pprof.${case}
			COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/pprof_test.py ${case})
		set_tests_properties(pprof.${case} PROPERTIES
			ENVIRONMENT "${tl_pp_env};TL_WORK=${tl_pp_dir}/${case}"
			LABELS pprof TIMEOUT ${A_TIMEOUT})
	endfunction()

	# 1. go tool pprof on timerleak's profiles.
	foreach(case raw top.alloc_objects top.alloc_space top.inuse_objects top.inuse_space
			list inline split file traces tagfocus base base_signal proto deterministic agree)
		tl_pprof_test(${case})
	endforeach()
	# 2. Go's own heap profile beside timerleak's: the same sample types.
	tl_pprof_test(go_heap.raw)
	tl_pprof_test(go_heap.top)
	# 3. The timeline.
	tl_pprof_test(timeline.counters)
	tl_pprof_test(timeline.resets)
	# 4. The wrapper, from the build tree and from an installed tree.
	foreach(tree build install)
		foreach(case report exit_status cli stdin children)
			tl_pprof_test(wrapper.${tree}.${case})
		endforeach()
	endforeach()
	# What the wrapper itself does, the same in either tree: a command that
	# execs, signals.
	tl_pprof_test(wrapper.build.exec)
	tl_pprof_test(wrapper.build.signals)
	tl_pprof_test(wrapper.build.terminate)
	tl_pprof_test(wrapper.build.forward)
	tl_pprof_test(install.pkgconfig)
	# 5. go tool pprof -http: its pages.
	foreach(page top flamegraph source)
		tl_pprof_test(http.${page})
	endforeach()
	# 6. scripts/demo, the README's main job. It configures and builds
	# (the few targets it needs, already built) in this build tree, so it
	# runs alone: a rebuild must not swap a library under another test.
	tl_pprof_test(demo TIMEOUT 300)
	set_tests_properties(pprof.demo PROPERTIES RUN_SERIAL TRUE)
endif()
