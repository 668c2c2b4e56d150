#include "model/cuda_devices.h"

#include <torch/torch.h>

namespace star {

int VisibleCudaDevices() {
  try {
    return static_cast<int>(torch::cuda::device_count());
  } catch (const std::exception&) {
    return 0;  // no driver on this machine
  }
}

absl::StatusOr<ComputeDevice> ResolveComputeDevice(absl::string_view text) {
  return ParseComputeDevice(text, VisibleCudaDevices());
}

}  // namespace star
