#ifndef STAR_COORDINATOR_TRAINING_ROUND_H_
#define STAR_COORDINATOR_TRAINING_ROUND_H_

// A data-parallel training round of a job, through the coordinator's round scheduler: submitted
// (and recorded in the state store), formed by the trainer ranks that join, waited for until it
// succeeds; a round that fails or does not end in time is submitted again as a fresh round, up
// to `attempts` times, and a retried round forms with the ranks that wait once `settle` has
// passed (the global batch is kept: each rank takes a larger share).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/coordinator.h"
#include "star/v1/job.pb.h"
#include "star/v1/training.pb.h"

namespace star {

struct TrainingRound {
  std::string job_id;
  uint32_t iteration = 0;  // 0: the seed stage
  std::string base_checkpoint;
  std::string output_checkpoint;
  uint32_t steps = 0;
  uint64_t seed = 0;
  star::v1::TrainingSpec training;
  // Where the round trains (compute.device chooses the backend when it forms) and in which
  // precision.
  star::v1::ComputeSpec compute;
  std::vector<star::v1::TrainingExample> examples;
  absl::Duration timeout = absl::Hours(4);
  int attempts = 3;
  uint32_t collective_timeout_ms = 120000;
  absl::Duration settle = absl::Seconds(10);
};

// The round's last step, its loss and the tokens per second of all ranks together.
using RoundStepProgress = std::function<void(uint32_t step, double loss, double tokens_per_second)>;

// Runs the round until one attempt succeeds and returns its progress (the ranks' reports);
// kCancelled as soon as `cancelled` says so (asked at least every second); the last attempt's
// error when every attempt failed.
absl::StatusOr<RoundProgress> RunTrainingRound(Coordinator& coordinator, const TrainingRound& round,
                                               const std::function<bool()>& cancelled,
                                               const RoundStepProgress& progress);

}  // namespace star

#endif  // STAR_COORDINATOR_TRAINING_ROUND_H_
