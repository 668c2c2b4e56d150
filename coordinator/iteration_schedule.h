#ifndef STAR_COORDINATOR_ITERATION_SCHEDULE_H_
#define STAR_COORDINATOR_ITERATION_SCHEDULE_H_

// How long each STaR iteration trains, and when a job stops early.

#include <cstdint>

#include "star/v1/job.pb.h"

namespace star {

// steps(n) of the job's schedule (n >= 1):
//   initial_steps * (1 + growth_percent/100)^(n-1) + step_increment * (n-1), rounded, at least 1.
uint32_t StepsForIteration(const star::v1::TrainingSpec& training, uint32_t iteration);

// The plateau rule: the job stops once held-out accuracy (over every bucket) has not risen by
// more than `min_gain` above its best for `patience` iterations in a row (patience 0: never).
class PlateauRule {
 public:
  PlateauRule(uint32_t patience, double min_gain) : patience_(patience), min_gain_(min_gain) {}

  // Records a STaR iteration's result (1, 2, ... in order; M0's baseline is not one of them,
  // so the first iteration sets the bar); true when the job should stop after it.
  bool Stop(const star::v1::IterationResult& result);

 private:
  const uint32_t patience_;
  const double min_gain_;
  double best_ = -1;
  uint32_t stale_ = 0;
};

}  // namespace star

#endif  // STAR_COORDINATOR_ITERATION_SCHEDULE_H_
