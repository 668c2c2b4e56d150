#include "trainer/cuda_probe.h"

#include <torch/torch.h>

namespace star {

ComputeCapabilities ProbeComputeCapabilities() {
  ComputeCapabilities caps;
  caps.torch_version = TORCH_VERSION;
  caps.backends = "gloo";
#ifdef STAR_WITH_CUDA
  caps.built_with_cuda = true;
  caps.backends += ",nccl";
  try {
    caps.cuda_devices = static_cast<int>(torch::cuda::device_count());
  } catch (const std::exception&) {
    caps.cuda_devices = 0;  // No driver on this machine.
  }
#endif
  return caps;
}

}  // namespace star
