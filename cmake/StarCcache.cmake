# Compiles through ccache when it is installed. The sloppiness settings let ccache serve
# objects built with a precompiled header (the torch PCH) from its cache.
find_program(STAR_CCACHE ccache)
if(STAR_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${STAR_CCACHE})
  message(STATUS "star: compiling through ${STAR_CCACHE}")
endif()
