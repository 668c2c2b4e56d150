#ifndef STAR_COORDINATOR_ROUND_BACKEND_H_
#define STAR_COORDINATOR_ROUND_BACKEND_H_

// Which c10d backend a training round runs on, chosen when the round forms from what its ranks
// reported (JoinRoundRequest.has_cuda) and what the job asks for (compute.device).

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace star {

struct RankDevice {
  std::string trainer_id;
  bool has_cuda = false;
};

// "nccl" when every rank has a GPU and `device` is "auto" or "cuda"; "gloo" for "cpu", or for
// "auto" (or "") when some rank has none. kFailedPrecondition for "cuda" when ranks lack a GPU
// (the message names them, at most 8, and how many there are); kInvalidArgument for another
// `device`.
absl::StatusOr<std::string> ChooseRoundBackend(const std::string& device,
                                               const std::vector<RankDevice>& ranks);

}  // namespace star

#endif  // STAR_COORDINATOR_ROUND_BACKEND_H_
