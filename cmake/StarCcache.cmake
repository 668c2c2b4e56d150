# Compiles through ccache when it is installed. The sloppiness settings let ccache serve
# objects built with a precompiled header (the torch PCH) from its cache; the base directory
# makes paths relative, so that another clone or build folder hits the same cache entries.
find_program(STAR_CCACHE ccache)
if(STAR_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}"
      ${STAR_CCACHE})
  message(STATUS "star: compiling through ${STAR_CCACHE}")
endif()
