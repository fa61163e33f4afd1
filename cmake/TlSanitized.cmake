# tl_sanitized_copy(<new> <original> [TYPE SHARED|STATIC|EXECUTABLE]
#                   [OUTPUT_NAME <name>] FLAGS <flag>...)
#
# <original> built again as <new> from its own sources, include
# directories, compile definitions and options, link libraries and link
# options, with FLAGS (e.g. -fsanitize=thread) added to compiling and
# linking it. One helper for every sanitized copy the tests run (a shim, a
# runtime, the analyzer), so that a copy can never drift from its
# original's source list.
function(tl_sanitized_copy new orig)
	cmake_parse_arguments(A "" "TYPE;OUTPUT_NAME" "FLAGS" ${ARGN})
	get_target_property(type ${orig} TYPE)
	if(A_TYPE)
		set(type ${A_TYPE})
	endif()
	get_target_property(dir ${orig} SOURCE_DIR)
	get_target_property(srcs ${orig} SOURCES)
	set(abs "")
	foreach(s IN LISTS srcs)
		if(IS_ABSOLUTE ${s})
			list(APPEND abs ${s})
		else()
			list(APPEND abs ${dir}/${s})
		endif()
	endforeach()
	if(type STREQUAL "EXECUTABLE")
		add_executable(${new} ${abs})
	elseif(type STREQUAL "SHARED_LIBRARY" OR type STREQUAL "SHARED")
		add_library(${new} SHARED ${abs})
	else()
		add_library(${new} STATIC ${abs})
	endif()
	foreach(prop INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS LINK_LIBRARIES
			LINK_OPTIONS C_VISIBILITY_PRESET INTERFACE_INCLUDE_DIRECTORIES
			INTERFACE_LINK_LIBRARIES)
		get_target_property(v ${orig} ${prop})
		if(v)
			set_property(TARGET ${new} PROPERTY ${prop} "${v}")
		endif()
	endforeach()
	target_compile_options(${new} PRIVATE ${A_FLAGS})
	target_link_options(${new} PRIVATE ${A_FLAGS})
	if(A_OUTPUT_NAME)
		set_target_properties(${new} PROPERTIES OUTPUT_NAME ${A_OUTPUT_NAME})
	endif()
endfunction()
