// A training round through the coordinator's round scheduler, with this test as the trainer
// rank: a failed attempt is followed by a fresh round with the same examples, every attempt is
// recorded, the last error is returned when all fail, and cancellation stops the wait.

#include "coordinator/training_round.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace star {
namespace {

class TrainingRoundTest : public ::testing::Test {
 protected:
  TrainingRoundTest() {
    round_.job_id = "job";
    round_.iteration = 2;
    round_.base_checkpoint = "/models/m0";
    round_.output_checkpoint = "/models/m2";
    round_.steps = 7;
    round_.seed = 5;
    round_.training.set_world_size(1);
    round_.attempts = 2;
    round_.settle = absl::ZeroDuration();
    for (uint64_t i = 0; i < 3; ++i) {
      star::v1::TrainingExample e;
      e.set_example_id(i);
      e.set_prompt("Q:");
      e.set_completion(" A");
      round_.examples.push_back(e);
    }
  }

  // Joins the next round (waiting up to 5 s), reports it `ok` or failed; its assignment.
  std::optional<star::v1::RoundAssignment> PlayOne(bool ok) {
    star::v1::JoinRoundRequest join;
    join.set_trainer_id("t0");
    join.set_hostname("test");
    join.set_wait_ms(5000);
    absl::StatusOr<star::v1::JoinRoundResponse> joined = coordinator_.JoinRound(join);
    if (!joined.ok() || !joined->has_assignment()) return std::nullopt;
    star::v1::StreamExamplesRequest stream;
    stream.set_round_id(joined->assignment().round_id());
    EXPECT_EQ(coordinator_.RoundExamples(stream)->size(), 3u);
    star::v1::ReportStepRequest step;
    step.set_round_id(joined->assignment().round_id());
    step.set_step(3);
    step.set_loss(1.5);
    EXPECT_TRUE(coordinator_.ReportStep(step).ok());
    star::v1::ReportRoundRequest report;
    report.set_round_id(joined->assignment().round_id());
    report.set_ok(ok);
    report.set_error(ok ? "" : "out of memory");
    report.set_final_loss(0.75);
    EXPECT_TRUE(coordinator_.ReportRound(report).ok());
    return joined->assignment();
  }

  Coordinator coordinator_{CoordinatorOptions{}};
  TrainingRound round_;
};

TEST_F(TrainingRoundTest, AFailedAttemptIsFollowedByAFreshRound) {
  absl::StatusOr<RoundProgress> result;
  std::vector<uint32_t> steps;
  std::thread runner([&] {
    result = RunTrainingRound(coordinator_, round_, [] { return false; },
                              [&](uint32_t step, double, double) { steps.push_back(step); });
  });
  std::optional<star::v1::RoundAssignment> failed = PlayOne(false);
  std::optional<star::v1::RoundAssignment> retried = PlayOne(true);
  runner.join();
  ASSERT_TRUE(failed.has_value() && retried.has_value());
  EXPECT_NE(failed->round_id(), retried->round_id());
  EXPECT_EQ(retried->base_checkpoint(), "/models/m0");
  EXPECT_EQ(retried->output_checkpoint(), "/models/m2");
  EXPECT_EQ(retried->steps(), 7u);
  EXPECT_EQ(retried->backend(), "gloo");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->reports.size(), 1u);
  EXPECT_DOUBLE_EQ(result->reports[0].final_loss(), 0.75);
  EXPECT_NE(std::find(steps.begin(), steps.end(), 3u), steps.end());
}

TEST_F(TrainingRoundTest, WhenEveryAttemptFailsTheLastErrorIsReturned) {
  absl::StatusOr<RoundProgress> result;
  std::thread runner([&] {
    result = RunTrainingRound(coordinator_, round_, [] { return false; }, [](uint32_t, double, double) {});
  });
  ASSERT_TRUE(PlayOne(false).has_value());
  ASSERT_TRUE(PlayOne(false).has_value());
  runner.join();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("out of memory"), std::string::npos) << result.status();
}

TEST_F(TrainingRoundTest, ACancelledRoundStopsWaiting) {
  std::atomic<bool> cancel = false;
  absl::StatusOr<RoundProgress> result;
  std::thread runner([&] {
    result = RunTrainingRound(coordinator_, round_, [&] { return cancel.load(); },
                              [](uint32_t, double, double) {});
  });
  cancel = true;  // no trainer ever joins; the runner sees it within a second
  runner.join();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace star
