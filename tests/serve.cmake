# timerleak-report --serve (tests/serve_test.py, one ctest entry per case,
# serve.<case>): the demo service recorded under the shim, its trace
# followed while written and its metrics scraped by Debian's Prometheus;
# bad ports and bad clients.
foreach(case prometheus bad)
	add_test(NAME serve.${case}
		COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/serve_test.py ${case})
	set_tests_properties(serve.${case} PROPERTIES LABELS "serve" TIMEOUT 180
		SKIP_RETURN_CODE 77
		ENVIRONMENT "TL_REPORT=$<TARGET_FILE:timerleak-report>;TL_PRELOAD=$<TARGET_FILE:timerleak>;TL_DEMO=$<TARGET_FILE:demo_service>;TL_WRAPPER=${PROJECT_BINARY_DIR}/timerleak;TL_GO=${TL_GO};TL_WORK=${CMAKE_CURRENT_BINARY_DIR}/serve/${case}")
endforeach()

# The alerting example (docs/prometheus/): promtool checks its rules and
# runs their unit tests. Skipped (77) without promtool (scripts/setup
# installs prometheus, which brings it).
foreach(step check test)
	if(step STREQUAL "check")
		set(what "promtool check rules timerleak.rules.yml")
	else()
		set(what "promtool test rules timerleak.rules.test.yml")
	endif()
	add_test(NAME serve.rules.${step}
		COMMAND sh -c "command -v promtool >/dev/null || { echo 'no promtool'; exit 77; }; ${what}"
		WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/docs/prometheus)
	set_tests_properties(serve.rules.${step} PROPERTIES LABELS "serve" TIMEOUT 60
		SKIP_RETURN_CODE 77)
endforeach()
