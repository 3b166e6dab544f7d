# Helpers shared by every component's CMakeLists.txt.

set(SIMREG_TESTDATA ${PROJECT_SOURCE_DIR}/tests/data)

# simreg_library(NAME SOURCES... [LIBS ...])
# A static library under lib/ or src/; its headers are reached as
# "<concern>/<file>.h" from the lib/ root (and "<function>/..." from src/).
function(simreg_library name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/lib)
  target_link_libraries(${name} PUBLIC ${A_LIBS})
  set_property(GLOBAL APPEND PROPERTY SIMREG_LIBS ${name})
endfunction()

# simreg_unit_test(NAME SOURCES... LIBS ... [LABELS ...])
# A cmocka program registered with CTest. Tests find their data through the
# SIMREG_TESTDATA environment variable, never through relative paths.
function(simreg_unit_test name)
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/lib
                             ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${A_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES
    LABELS "unit;${A_LABELS}" TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "SIMREG_TESTDATA=${SIMREG_TESTDATA};SIMREG=$<TARGET_FILE:simreg>")
endfunction()

# simreg_script_test(NAME SCRIPT [LABELS ...] [TIMEOUT s] [ARGS ...])
# A shell test (tests/<area>/*.sh) that drives the simreg binary and real
# peers. It receives SIMREG (the binary), SIMREG_TESTDATA, SIMREG_SOURCE_DIR
# and SIMREG_BUILD_DIR in its environment.
function(simreg_script_test name script)
  cmake_parse_arguments(A "" "TIMEOUT" "LABELS;ARGS" ${ARGN})
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${A_ARGS})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES
    LABELS "script;${A_LABELS}" TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "SIMREG_TESTDATA=${SIMREG_TESTDATA};SIMREG=$<TARGET_FILE:simreg>;SIMREG_SOURCE_DIR=${PROJECT_SOURCE_DIR};SIMREG_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# simreg_fuzz_target(NAME SOURCES... LIBS ... CORPUS dir... [SECONDS s])
# Built only with SIMREG_FUZZ (clang). The test suite runs each target for a
# bounded time over its seed corpus; crashes found become regression inputs
# under tests/fuzz/regressions/<NAME>/, which are replayed on every run.
function(simreg_fuzz_target name)
  cmake_parse_arguments(A "" "SECONDS" "SOURCES;LIBS;CORPUS" ${ARGN})
  if(NOT SIMREG_FUZZ)
    return()
  endif()
  if(NOT A_SECONDS)
    set(A_SECONDS 8)
  endif()
  add_executable(${name} ${A_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/lib)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE ${A_LIBS})
  add_test(NAME ${name}
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/fuzz/run-target.sh
            $<TARGET_FILE:${name}> ${A_SECONDS}
            ${PROJECT_SOURCE_DIR}/tests/fuzz/regressions/${name} ${A_CORPUS})
  set_tests_properties(${name} PROPERTIES LABELS "fuzz" TIMEOUT 300)
endfunction()
