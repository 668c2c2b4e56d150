#ifndef STAR_MODEL_COMPUTE_DEVICE_H_
#define STAR_MODEL_COMPUTE_DEVICE_H_

// Where a model lives and in which precision it computes: the one seam every binary goes
// through (`--device`, the job's compute section). Torch-free, so that the daemons' main files
// and the coordinator can use it.

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace star {

struct ComputeDevice {
  bool cuda = false;
  int index = 0;  // CUDA device ordinal; 0 on the CPU

  // "cpu" or "cuda:N".
  std::string ToString() const;
  friend bool operator==(const ComputeDevice&, const ComputeDevice&) = default;
};

// The dtype a model computes in. kAuto: bfloat16 on CUDA; on the CPU the checkpoint's dtype for
// generation and float32 for training.
enum class Precision { kAuto, kBFloat16, kFloat32 };

// Whether a model computes in bfloat16: for bf16, and for auto on CUDA.
bool ComputesInBf16(Precision precision, const ComputeDevice& device);

// "auto", "bf16" or "fp32"; kInvalidArgument naming the value otherwise.
absl::StatusOr<Precision> ParsePrecision(absl::string_view text);
absl::string_view PrecisionName(Precision precision);

// Parses a --device value ("cpu", "cuda", "cuda:N" or "auto") for a machine with
// `visible_cuda_devices` CUDA devices: "auto" is cuda:0 when there is one, else the CPU.
// kInvalidArgument for a value of another form; kFailedPrecondition for a CUDA device the
// machine does not have (the message names the value and how many devices are visible).
// ResolveComputeDevice (model/cuda_devices.h) asks libtorch for the count.
absl::StatusOr<ComputeDevice> ParseComputeDevice(absl::string_view text, int visible_cuda_devices);

}  // namespace star

#endif  // STAR_MODEL_COMPUTE_DEVICE_H_
