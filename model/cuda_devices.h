#ifndef STAR_MODEL_CUDA_DEVICES_H_
#define STAR_MODEL_CUDA_DEVICES_H_

// This machine's CUDA devices as libtorch sees them, behind a torch-free interface.

#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "model/compute_device.h"

namespace star {

// CUDA devices this process can use (0 without a driver, without a GPU, or in a libtorch
// without CUDA).
int VisibleCudaDevices();

// ParseComputeDevice(text, VisibleCudaDevices()).
absl::StatusOr<ComputeDevice> ResolveComputeDevice(absl::string_view text);

}  // namespace star

#endif  // STAR_MODEL_CUDA_DEVICES_H_
