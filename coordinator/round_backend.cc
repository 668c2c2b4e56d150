#include "coordinator/round_backend.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace star {

absl::StatusOr<std::string> ChooseRoundBackend(const std::string& device,
                                               const std::vector<RankDevice>& ranks) {
  if (device == "cpu") return std::string("gloo");
  if (device != "auto" && !device.empty() && device != "cuda") {
    return absl::InvalidArgumentError(
        absl::StrCat("compute.device '", device.substr(0, 64), "' is not auto, cuda or cpu"));
  }
  std::vector<std::string> without_gpu;
  for (const RankDevice& rank : ranks) {
    if (!rank.has_cuda) without_gpu.push_back(rank.trainer_id);
  }
  if (without_gpu.empty()) return std::string("nccl");
  if (device != "cuda") return std::string("gloo");
  const size_t missing = without_gpu.size();
  if (missing > 8) without_gpu.resize(8);
  return absl::FailedPreconditionError(absl::StrCat(
      "compute.device is cuda but ", missing, " of the round's ", ranks.size(),
      " ranks have no CUDA device: ", absl::StrJoin(without_gpu, ", "),
      missing > 8 ? ", ..." : ""));
}

}  // namespace star
