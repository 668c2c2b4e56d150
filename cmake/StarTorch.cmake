# libtorch comes from the pinned `torch` wheel in the project's virtual environment (.venv,
# made by scripts/install-deps.sh). This file defines `star::torch`, the one target that
# model/ and trainer/ link for it, and `star_torch_pch`, whose precompiled torch header they
# reuse.
#
# STAR_WITH_CUDA=ON (default): Torch's own CMake package (find_package(Torch)), which needs the
# CUDA toolkit, gives torch with its CUDA library and c10d ProcessGroupNCCL.
# STAR_WITH_CUDA=OFF: the wheel's CPU libraries (torch_cpu, c10) are linked directly, so that a
# machine without the CUDA toolkit can build; c10d with Gloo is part of torch_cpu.

set(STAR_PYTHON "${PROJECT_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python of the virtual environment that holds the torch wheel")

if(NOT STAR_TORCH_PREFIX)
  if(NOT EXISTS "${STAR_PYTHON}")
    message(FATAL_ERROR "star: ${STAR_PYTHON} not found; run scripts/install-deps.sh first "
                        "(or set -DSTAR_PYTHON=/path/to/python with torch installed)")
  endif()
  execute_process(
    COMMAND "${STAR_PYTHON}" -c "import os, torch; print(os.path.dirname(torch.__file__))"
    OUTPUT_VARIABLE _star_torch_dir OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _star_torch_rc)
  if(NOT _star_torch_rc EQUAL 0)
    message(FATAL_ERROR "star: ${STAR_PYTHON} cannot import torch; run scripts/install-deps.sh")
  endif()
  set(STAR_TORCH_PREFIX "${_star_torch_dir}" CACHE PATH "Root of the torch package")
endif()

# The wheel's include folder also carries protobuf headers of another version than Debian's,
# which would shadow the ones the gRPC code needs in any target using both. Targets see torch's
# headers through a mirror of that folder without google/.
set(STAR_TORCH_INCLUDE "${CMAKE_BINARY_DIR}/torch_include")
file(MAKE_DIRECTORY "${STAR_TORCH_INCLUDE}")
file(GLOB _star_torch_entries RELATIVE "${STAR_TORCH_PREFIX}/include" "${STAR_TORCH_PREFIX}/include/*")
foreach(_entry ${_star_torch_entries})
  if(NOT _entry STREQUAL "google" AND NOT EXISTS "${STAR_TORCH_INCLUDE}/${_entry}")
    file(CREATE_LINK "${STAR_TORCH_PREFIX}/include/${_entry}" "${STAR_TORCH_INCLUDE}/${_entry}" SYMBOLIC)
  endif()
endforeach()

# libtorch.so and libtorch_cpu.so export unversioned copies of some libstdc++ symbols
# (std::filesystem::remove_all, ...). Linked before libstdc++, they would capture our own
# references, and libtorch's copies crash when called from outside. Naming libstdc++ first makes
# the linker bind our references to the real, versioned ones.
set(STAR_STDCXX_FIRST "-Wl,--push-state,--no-as-needed" stdc++ "-Wl,--pop-state")

if(STAR_WITH_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND NOT EXISTS "/usr/local/cuda/bin/nvcc")
    message(FATAL_ERROR "star: STAR_WITH_CUDA=ON but no CUDA toolkit was found; "
                        "install it or configure with -DSTAR_WITH_CUDA=OFF")
  endif()
  if(NOT CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_COMPILER "/usr/local/cuda/bin/nvcc")
  endif()
  # Torch's CMake package looks for the toolkit through CUDAToolkit.
  get_filename_component(_star_cuda_bin "${CMAKE_CUDA_COMPILER}" DIRECTORY)
  get_filename_component(CUDAToolkit_ROOT "${_star_cuda_bin}" DIRECTORY)
  # The arch list only matters for code compiled with nvcc; the project compiles none itself.
  if(NOT TORCH_CUDA_ARCH_LIST)
    set(TORCH_CUDA_ARCH_LIST "9.0")
  endif()
  find_package(Torch CONFIG REQUIRED PATHS "${STAR_TORCH_PREFIX}/share/cmake/Torch" NO_DEFAULT_PATH)
  foreach(_target torch torch_library torch_cpu torch_cpu_library torch_cuda torch_cuda_library c10 c10_cuda headeronly)
    if(TARGET ${_target})
      get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
      if(_dirs)
        string(REPLACE "${STAR_TORCH_PREFIX}/include" "${STAR_TORCH_INCLUDE}" _dirs "${_dirs}")
        set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_dirs}")
      endif()
    endif()
  endforeach()
  add_library(star_torch INTERFACE)
  target_link_libraries(star_torch INTERFACE ${STAR_STDCXX_FIRST} torch)
  target_compile_definitions(star_torch INTERFACE STAR_WITH_CUDA=1)
  message(STATUS "star: torch ${Torch_VERSION} from ${STAR_TORCH_PREFIX} with CUDA (${CUDAToolkit_VERSION})")
else()
  add_library(star_torch INTERFACE)
  target_include_directories(star_torch SYSTEM INTERFACE
      "${STAR_TORCH_INCLUDE}"
      "${STAR_TORCH_INCLUDE}/torch/csrc/api/include")
  target_compile_definitions(star_torch INTERFACE
      USE_DISTRIBUTED USE_C10D_GLOO _GLIBCXX_USE_CXX11_ABI=1)
  target_link_libraries(star_torch INTERFACE ${STAR_STDCXX_FIRST}
      "-Wl,--no-as-needed" "${STAR_TORCH_PREFIX}/lib/libtorch_cpu.so" "-Wl,--as-needed"
      "${STAR_TORCH_PREFIX}/lib/libc10.so" Threads::Threads)
  target_link_options(star_torch INTERFACE "-Wl,-rpath,${STAR_TORCH_PREFIX}/lib")
  message(STATUS "star: torch from ${STAR_TORCH_PREFIX}, CPU only (STAR_WITH_CUDA=OFF)")
endif()
# Everything else in the build compiles with -pthread (through gRPC and Abseil); the precompiled
# header must be made with the same macros (-pthread defines _REENTRANT) or gcc ignores it.
target_compile_options(star_torch INTERFACE -pthread)
add_library(star::torch ALIAS star_torch)

# One precompiled header shared by every torch-including target (compiled once per build).
add_library(star_torch_pch STATIC "${PROJECT_SOURCE_DIR}/cmake/torch_pch.cc")
target_link_libraries(star_torch_pch PUBLIC star::torch)
if(STAR_WITH_TORCH_PCH)
  target_precompile_headers(star_torch_pch PRIVATE <torch/torch.h>)
endif()

# star_use_torch(TARGET [PUBLIC|PRIVATE]): links star::torch (PRIVATE by default, so that
# torch's include paths stay inside model/ and trainer/) and reuses the precompiled header.
function(star_use_torch target)
  set(_visibility PRIVATE)
  if(ARGC GREATER 1)
    set(_visibility ${ARGV1})
  endif()
  target_link_libraries(${target} ${_visibility} star::torch)
  if(STAR_WITH_TORCH_PCH)
    target_precompile_headers(${target} REUSE_FROM star_torch_pch)
  endif()
endfunction()
