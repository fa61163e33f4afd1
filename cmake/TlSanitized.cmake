# tl_target_sources(<var> <target>...): the absolute paths of the targets'
# sources, for builds that compile a module's sources themselves (the
# fuzzers' clang commands): one source list per module, its CMakeLists.
function(tl_target_sources var)
	set(abs "")
	foreach(t IN LISTS ARGN)
		get_target_property(dir ${t} SOURCE_DIR)
		get_target_property(srcs ${t} SOURCES)
		foreach(s IN LISTS srcs)
			if(IS_ABSOLUTE ${s})
				list(APPEND abs ${s})
			else()
				list(APPEND abs ${dir}/${s})
			endif()
		endforeach()
	endforeach()
	set(${var} ${abs} PARENT_SCOPE)
endfunction()

# tl_sanitized_copy(<new> <original> [TYPE SHARED|STATIC|EXECUTABLE]
#                   [OUTPUT_NAME <name>] [SOURCES_OF <target>...]
#                   FLAGS <flag>...)
#
# <original> built again as <new> from its own sources, include
# directories, compile definitions and options, link libraries and link
# options, with FLAGS (e.g. -fsanitize=thread) added to compiling and
# linking it. SOURCES_OF: libraries of the project whose sources are
# compiled into the copy too, with the same flags, instead of being linked
# as they are (their include directories and link libraries come along).
# One helper for every sanitized copy the tests run (a shim, a runtime,
# the analyzer), so that a copy can never drift from its original's source
# list.
function(tl_sanitized_copy new orig)
	cmake_parse_arguments(A "" "TYPE;OUTPUT_NAME" "FLAGS;SOURCES_OF" ${ARGN})
	get_target_property(type ${orig} TYPE)
	if(A_TYPE)
		set(type ${A_TYPE})
	endif()
	tl_target_sources(abs ${orig} ${A_SOURCES_OF})
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
	foreach(t IN LISTS A_SOURCES_OF)
		get_target_property(inc ${t} INTERFACE_INCLUDE_DIRECTORIES)
		get_target_property(libs ${t} LINK_LIBRARIES)
		if(inc)
			target_include_directories(${new} PRIVATE ${inc})
		endif()
		if(libs)
			target_link_libraries(${new} PRIVATE ${libs})
		endif()
	endforeach()
	# What is compiled in is not linked as well.
	get_target_property(libs ${new} LINK_LIBRARIES)
	if(libs AND A_SOURCES_OF)
		list(REMOVE_ITEM libs ${A_SOURCES_OF})
		set_property(TARGET ${new} PROPERTY LINK_LIBRARIES "${libs}")
	endif()
	target_compile_options(${new} PRIVATE ${A_FLAGS})
	target_link_options(${new} PRIVATE ${A_FLAGS})
	if(A_OUTPUT_NAME)
		set_target_properties(${new} PROPERTIES OUTPUT_NAME ${A_OUTPUT_NAME})
	endif()
endfunction()
