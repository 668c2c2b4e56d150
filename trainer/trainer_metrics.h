#ifndef STAR_TRAINER_TRAINER_METRICS_H_
#define STAR_TRAINER_TRAINER_METRICS_H_

// A trainer rank's Prometheus metrics (docs/operations.md explains each):
//
//   star_trainer_join_requests_total{outcome}      assigned, waited, error
//   star_trainer_in_round                          1 while a round runs
//   star_trainer_rank, star_trainer_world_size     of the current (or last) round
//   star_trainer_loss                              the last step's loss, mean over ranks
//   star_trainer_tokens_per_second                 this rank, over the last step
//   star_trainer_steps_total, star_trainer_tokens_total
//   star_trainer_step_duration_seconds             one optimizer step
//   star_trainer_allreduce_duration_seconds        a step's time inside all-reduce
//   star_trainer_round_duration_seconds{outcome}   assignment to report: succeeded, failed
//
// Torch-free. Thread-safe.

#include <string>

#include "absl/time/time.h"
#include "metrics/metric_registry.h"
#include "trainer/step_stats.h"

namespace star {

class TrainerMetrics {
 public:
  // Registers every family on `registry`, which must outlive this object.
  explicit TrainerMetrics(metrics::MetricRegistry* registry);
  TrainerMetrics(const TrainerMetrics&) = delete;
  TrainerMetrics& operator=(const TrainerMetrics&) = delete;

  // outcome: "assigned" (placed into a round), "waited" (the long-poll ended without one) or
  // "error" (the coordinator was unreachable or refused).
  void RecordJoinRequest(const std::string& outcome);
  void RoundStarted(int rank, int world_size);
  void RecordStep(const StepStats& step);
  void RoundEnded(bool succeeded, absl::Duration took);

 private:
  metrics::Family<metrics::Counter>& join_requests_;
  metrics::Family<metrics::Gauge>& in_round_;
  metrics::Family<metrics::Gauge>& rank_;
  metrics::Family<metrics::Gauge>& world_size_;
  metrics::Family<metrics::Gauge>& loss_;
  metrics::Family<metrics::Gauge>& tokens_per_second_;
  metrics::Family<metrics::Counter>& steps_;
  metrics::Family<metrics::Counter>& tokens_;
  metrics::Family<metrics::Histogram>& step_duration_;
  metrics::Family<metrics::Histogram>& allreduce_duration_;
  metrics::Family<metrics::Histogram>& round_duration_;
};

}  // namespace star

#endif  // STAR_TRAINER_TRAINER_METRICS_H_
