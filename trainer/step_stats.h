#ifndef STAR_TRAINER_STEP_STATS_H_
#define STAR_TRAINER_STEP_STATS_H_

// What one optimizer step of a trainer rank took. Torch-free, for the trainer binary's logs and
// metrics.

#include <cstdint>

namespace star {

struct StepStats {
  int64_t step = 0;  // 1-based
  double loss = 0;   // mean over ranks
  double seconds = 0;
  // Completion tokens this rank trained on in the step.
  int64_t tokens = 0;
  // Time of the step inside all-reduce calls (gradients and loss).
  double allreduce_seconds = 0;
};

}  // namespace star

#endif  // STAR_TRAINER_STEP_STATS_H_
