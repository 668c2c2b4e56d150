#include "trainer/cuda_probe.h"

#include <torch/torch.h>

#include "model/cuda_devices.h"

namespace star {

ComputeCapabilities ProbeComputeCapabilities() {
  ComputeCapabilities caps;
  caps.torch_version = TORCH_VERSION;
  caps.backends = "gloo";
#ifdef STAR_WITH_CUDA
  caps.built_with_cuda = true;
  caps.backends += ",nccl";
  caps.cuda_devices = VisibleCudaDevices();
#endif
  return caps;
}

}  // namespace star
