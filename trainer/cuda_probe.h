#ifndef STAR_TRAINER_CUDA_PROBE_H_
#define STAR_TRAINER_CUDA_PROBE_H_

// What this trainer process can train with, as libtorch sees it. Keeps torch headers out of
// the files that only need the answer.

#include <string>

namespace star {

struct ComputeCapabilities {
  // True when this build includes the CUDA/NCCL code paths (STAR_WITH_CUDA).
  bool built_with_cuda = false;
  // CUDA devices visible at run time (0 on a machine without a GPU or driver).
  int cuda_devices = 0;
  // c10d backends compiled in, e.g. "gloo,nccl".
  std::string backends;
  std::string torch_version;
};

ComputeCapabilities ProbeComputeCapabilities();

}  // namespace star

#endif  // STAR_TRAINER_CUDA_PROBE_H_
