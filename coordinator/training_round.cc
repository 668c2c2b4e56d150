#include "coordinator/training_round.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "log/log.h"

namespace star {

absl::StatusOr<RoundProgress> RunTrainingRound(Coordinator& coordinator, const TrainingRound& round,
                                               const std::function<bool()>& cancelled,
                                               const RoundStepProgress& progress) {
  absl::Status last = absl::InternalError("no attempt");
  StateStore& store = coordinator.store();
  for (int attempt = 1; attempt <= round.attempts; ++attempt) {
    RoundPlan plan;
    star::v1::RoundAssignment& a = plan.assignment;
    // The store's epoch keeps the ids of a restarted coordinator's rounds apart from those of
    // rounds its predecessor formed (whose ranks may still report).
    a.set_round_id(absl::StrFormat("%s-i%d-e%d-round%d", round.job_id, round.iteration,
                                   store.epoch(), attempt));
    a.set_job_id(round.job_id);
    a.set_iteration(round.iteration);
    a.set_world_size(std::max<uint32_t>(1, round.training.world_size()));
    *a.mutable_compute() = round.compute;
    a.set_base_checkpoint(round.base_checkpoint);
    a.set_output_checkpoint(round.output_checkpoint);
    *a.mutable_training() = round.training;
    a.set_steps(round.steps);
    a.set_seed(round.seed);
    a.set_collective_timeout_ms(round.collective_timeout_ms);
    plan.examples = round.examples;
    if (attempt > 1) {
      plan.min_world_size = 1;
      plan.settle = round.settle;
    }
    const std::string round_id = a.round_id();  // `plan` is moved below
    if (absl::Status s = coordinator.rounds().Submit(std::move(plan)); !s.ok()) return s;
    if (absl::Status s = store.PutRound(round_id, round.job_id, round.iteration, "submitted", "");
        !s.ok()) {
      return s;
    }
    const absl::Time deadline = absl::Now() + round.timeout;
    progress(0, 0, 0);
    while (true) {
      if (cancelled()) return absl::CancelledError("cancelled");
      std::optional<RoundProgress> p = coordinator.rounds().WaitForEnd(round_id, absl::Seconds(1));
      if (!p) return absl::InternalError(absl::StrCat("round ", round_id, " vanished"));
      if (!p->steps.empty()) {
        uint32_t step = 0;
        double loss = 0, tokens_per_second = 0;
        for (const auto& [rank, report] : p->steps) {
          if (report.step() >= step) {
            step = report.step();
            loss = report.loss();
          }
          tokens_per_second += report.tokens_per_second();
        }
        progress(step, loss, tokens_per_second);
      }
      if (p->state == RoundState::kSucceeded) {
        if (absl::Status s = store.PutRound(round_id, round.job_id, round.iteration, "succeeded", "");
            !s.ok()) {
          return s;
        }
        return *p;
      }
      if (p->state == RoundState::kFailed) {
        last = absl::UnavailableError(absl::StrCat("round ", round_id, ": ", p->error));
        (void)store.PutRound(round_id, round.job_id, round.iteration, "failed", p->error);
        break;
      }
      if (absl::Now() > deadline) {
        last = absl::DeadlineExceededError(absl::StrCat("round ", round_id, " did not end"));
        (void)store.PutRound(round_id, round.job_id, round.iteration, "failed",
                             std::string(last.message()));
        break;
      }
    }
    STAR_LOG(WARNING) << "job " << round.job_id << ": " << last.message() << "; retrying";
  }
  return last;
}

}  // namespace star
