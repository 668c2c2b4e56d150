# star_add_test(NAME SOURCES... LIBS ... [LABELS ...] [TIMEOUT SECONDS])
# Makes one GoogleTest binary and registers each of its tests with CTest.
include(GoogleTest)

function(star_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  # Tests find the binaries through $STAR_BIN_DIR and the source tree (examples) through the
  # STAR_SOURCE_DIR macro.
  target_compile_definitions(${name} PRIVATE STAR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  set(_properties ENVIRONMENT "STAR_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
  if(ARG_LABELS)
    list(APPEND _properties LABELS "${ARG_LABELS}")
  endif()
  # Beyond the presets' default timeout (900 s), for the tests that run whole jobs.
  if(ARG_TIMEOUT)
    list(APPEND _properties TIMEOUT "${ARG_TIMEOUT}")
  endif()
  gtest_discover_tests(${name} PROPERTIES ${_properties} DISCOVERY_TIMEOUT 60)
endfunction()
