#include "trainer/trainer_metrics.h"

namespace star {

using metrics::ExponentialBuckets;

TrainerMetrics::TrainerMetrics(metrics::MetricRegistry* registry)
    : join_requests_(registry->AddCounter(
          "star_trainer_join_requests_total",
          "JoinRound long-polls by outcome: assigned (placed into a round), waited (none formed "
          "within the poll time) or error (the coordinator was unreachable or refused).",
          {"outcome"})),
      in_round_(registry->AddGauge("star_trainer_in_round", "1 while this rank runs a round.")),
      rank_(registry->AddGauge("star_trainer_rank",
                               "This trainer's rank in its current or last round.")),
      world_size_(registry->AddGauge(
          "star_trainer_world_size",
          "Ranks in this trainer's current or last round (0 before its first round).")),
      loss_(registry->AddGauge("star_trainer_loss",
                               "Training loss of the last step, mean over ranks (completion "
                               "tokens only).")),
      tokens_per_second_(registry->AddGauge(
          "star_trainer_tokens_per_second",
          "Completion tokens this rank trained on per second over the last step.")),
      steps_(registry->AddCounter("star_trainer_steps_total", "Optimizer steps taken.")),
      tokens_(registry->AddCounter("star_trainer_tokens_total",
                                   "Completion tokens this rank trained on.")),
      step_duration_(registry->AddHistogram("star_trainer_step_duration_seconds",
                                            "Time of one optimizer step (forward, backward, "
                                            "all-reduce, update).",
                                            ExponentialBuckets(0.005, 2, 14))),
      allreduce_duration_(registry->AddHistogram(
          "star_trainer_allreduce_duration_seconds",
          "Time one optimizer step spent inside all-reduce calls (gradients and loss).",
          ExponentialBuckets(0.0005, 2, 16))),
      round_duration_(registry->AddHistogram(
          "star_trainer_round_duration_seconds",
          "Time from a round's assignment to this rank's report, by outcome.",
          {1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400}, {"outcome"})) {
  for (const char* outcome : {"assigned", "waited", "error"}) join_requests_.WithLabels({outcome});
  in_round_.Get();
  rank_.Get();
  world_size_.Get();
  loss_.Get();
  tokens_per_second_.Get();
  steps_.Get();
  tokens_.Get();
  step_duration_.Get();
  allreduce_duration_.Get();
  for (const char* outcome : {"succeeded", "failed"}) round_duration_.WithLabels({outcome});
}

void TrainerMetrics::RecordJoinRequest(const std::string& outcome) {
  join_requests_.WithLabels({outcome}).Increment();
}

void TrainerMetrics::RoundStarted(int rank, int world_size) {
  in_round_.Get().Set(1);
  rank_.Get().Set(rank);
  world_size_.Get().Set(world_size);
}

void TrainerMetrics::RecordStep(const StepStats& step) {
  loss_.Get().Set(step.loss);
  if (step.seconds > 0) {
    tokens_per_second_.Get().Set(static_cast<double>(step.tokens) / step.seconds);
  }
  steps_.Get().Increment();
  tokens_.Get().Increment(static_cast<double>(step.tokens));
  step_duration_.Get().Observe(step.seconds);
  allreduce_duration_.Get().Observe(step.allreduce_seconds);
}

void TrainerMetrics::RoundEnded(bool succeeded, absl::Duration took) {
  in_round_.Get().Set(0);
  round_duration_.WithLabels({succeeded ? "succeeded" : "failed"})
      .Observe(absl::ToDoubleSeconds(took));
}

}  // namespace star
