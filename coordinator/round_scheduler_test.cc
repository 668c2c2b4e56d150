#include "coordinator/round_scheduler.h"

#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "coordinator/round_backend.h"
#include "gtest/gtest.h"

namespace star {
namespace {

// A round of two ranks and 10 steps with examples 0..3, formed from two waiting trainers.
class RoundSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RoundPlan plan;
    plan.assignment.set_round_id("r1");
    plan.assignment.set_world_size(2);
    plan.assignment.set_steps(10);
    for (uint64_t i = 0; i < 4; ++i) plan.examples.emplace_back().set_example_id(i);
    ASSERT_TRUE(scheduler_.Submit(std::move(plan)).ok());
    for (const char* trainer : {"t0", "t1"}) {
      joins_.emplace_back([this, trainer] {
        star::v1::JoinRoundRequest request;
        request.set_trainer_id(trainer);
        request.set_hostname("127.0.0.1");
        request.set_store_port(1234);
        EXPECT_TRUE(scheduler_.Join(request, absl::Seconds(10)).has_value());
      });
    }
    for (auto& t : joins_) t.join();
  }

  star::v1::ReportStepRequest Step(uint32_t rank, uint32_t step, double loss) {
    star::v1::ReportStepRequest r;
    r.set_round_id("r1");
    r.set_rank(rank);
    r.set_step(step);
    r.set_loss(loss);
    r.set_tokens_per_second(100);
    return r;
  }

  RoundScheduler scheduler_;
  std::vector<std::thread> joins_;
};

TEST_F(RoundSchedulerTest, EachRankGetsAllTheExamplesInOrder) {
  absl::StatusOr<std::vector<star::v1::TrainingExample>> examples = scheduler_.Examples("r1", 1);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 4u);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ((*examples)[i].example_id(), i);
  EXPECT_EQ(scheduler_.Examples("r9", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(scheduler_.Examples("r1", 2).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RoundSchedulerTest, StepReportsAreKeptPerRankAndBadOnesRefused) {
  ASSERT_TRUE(scheduler_.ReportStep(Step(1, 4, 0.5)).ok());
  ASSERT_TRUE(scheduler_.ReportStep(Step(1, 5, 0.25)).ok());
  std::optional<RoundProgress> progress = scheduler_.Progress("r1");
  ASSERT_TRUE(progress.has_value());
  ASSERT_EQ(progress->steps.size(), 1u);
  EXPECT_EQ(progress->steps.at(1).step(), 5u);
  EXPECT_DOUBLE_EQ(progress->steps.at(1).loss(), 0.25);

  star::v1::ReportStepRequest unknown = Step(0, 1, 1.0);
  unknown.set_round_id("r9");
  EXPECT_EQ(scheduler_.ReportStep(unknown).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(scheduler_.ReportStep(Step(2, 1, 1.0)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scheduler_.ReportStep(Step(0, 11, 1.0)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scheduler_.ReportStep(Step(0, 1, std::nan(""))).code(),
            absl::StatusCode::kInvalidArgument);
  star::v1::ReportStepRequest negative = Step(0, 1, 1.0);
  negative.set_tokens_per_second(-1);
  EXPECT_EQ(scheduler_.ReportStep(negative).code(), absl::StatusCode::kInvalidArgument);
  // None of the refused reports changed anything.
  EXPECT_EQ(scheduler_.Progress("r1")->steps.size(), 1u);
}

// Trainers that join a round in some order: returns the rank each got, by trainer id.
std::map<std::string, uint32_t> JoinAll(RoundScheduler& scheduler,
                                        const std::vector<std::string>& trainers) {
  std::map<std::string, uint32_t> ranks;
  absl::Mutex mu;
  std::vector<std::thread> joins;
  for (const std::string& trainer : trainers) {
    joins.emplace_back([&, trainer] {
      star::v1::JoinRoundRequest request;
      request.set_trainer_id(trainer);
      request.set_hostname("127.0.0.1");
      request.set_store_port(1234);
      std::optional<star::v1::RoundAssignment> a = scheduler.Join(request, absl::Seconds(10));
      absl::MutexLock lock(&mu);
      if (a) ranks[trainer] = a->rank();
    });
    // Arrive in the listed order.
    absl::SleepFor(absl::Milliseconds(50));
  }
  for (auto& t : joins) t.join();
  return ranks;
}

TEST(RoundSchedulerRankTest, RanksFollowTrainerIdsNotArrival) {
  RoundScheduler scheduler;
  RoundPlan plan;
  plan.assignment.set_round_id("r");
  plan.assignment.set_world_size(3);
  for (uint64_t i = 0; i < 3; ++i) plan.examples.emplace_back().set_example_id(i);
  ASSERT_TRUE(scheduler.Submit(std::move(plan)).ok());
  std::map<std::string, uint32_t> ranks = JoinAll(scheduler, {"c", "a", "b"});
  EXPECT_EQ(ranks, (std::map<std::string, uint32_t>{{"a", 0}, {"b", 1}, {"c", 2}}));
}

TEST(RoundSchedulerRankTest, ARoundWithAMinimumFormsWithTheRanksWaitingOnceSettled) {
  RoundScheduler scheduler;
  RoundPlan plan;
  plan.assignment.set_round_id("rerun");
  plan.assignment.set_world_size(2);
  plan.min_world_size = 1;
  plan.settle = absl::Seconds(1);
  for (uint64_t i = 0; i < 4; ++i) plan.examples.emplace_back().set_example_id(i);
  ASSERT_TRUE(scheduler.Submit(std::move(plan)).ok());
  std::map<std::string, uint32_t> ranks = JoinAll(scheduler, {"only"});
  EXPECT_EQ(ranks, (std::map<std::string, uint32_t>{{"only", 0}}));
  // The lone rank streams every example.
  EXPECT_EQ(scheduler.Examples("rerun", 0)->size(), 4u);
  EXPECT_EQ(scheduler.Examples("rerun", 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RoundSchedulerRankTest, ARoundWithoutAMinimumWaitsForItsWholeWorld) {
  RoundScheduler scheduler;
  RoundPlan plan;
  plan.assignment.set_round_id("full");
  plan.assignment.set_world_size(2);
  plan.settle = absl::Milliseconds(1);
  for (uint64_t i = 0; i < 4; ++i) plan.examples.emplace_back().set_example_id(i);
  ASSERT_TRUE(scheduler.Submit(std::move(plan)).ok());
  star::v1::JoinRoundRequest request;
  request.set_trainer_id("only");
  request.set_hostname("127.0.0.1");
  EXPECT_FALSE(scheduler.Join(request, absl::Milliseconds(1500)).has_value());
}

TEST(RoundSchedulerRankTest, AWaitingRankHoldsNoThreadAndASecondWaitOfItsTrainerReplacesTheFirst) {
  RoundScheduler scheduler;
  star::v1::JoinRoundRequest request;
  request.set_trainer_id("t0");
  request.set_hostname("127.0.0.1");
  absl::Notification first_done;
  std::optional<star::v1::RoundAssignment> first = star::v1::RoundAssignment();
  ASSERT_TRUE(scheduler
                  .JoinAsync(request, absl::Seconds(60),
                             [&](std::optional<star::v1::RoundAssignment> a) {
                               first = std::move(a);
                               first_done.Notify();
                             })
                  .ok());
  EXPECT_FALSE(first_done.HasBeenNotified());
  // The same trainer asks again (it gave up on its call): the first wait ends with nothing.
  absl::Notification second_done;
  std::optional<star::v1::RoundAssignment> second;
  ASSERT_TRUE(scheduler
                  .JoinAsync(request, absl::Seconds(60),
                             [&](std::optional<star::v1::RoundAssignment> a) {
                               second = std::move(a);
                               second_done.Notify();
                             })
                  .ok());
  ASSERT_TRUE(first_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_FALSE(first.has_value());
  // A round forms with the second wait, answered from Submit.
  RoundPlan plan;
  plan.assignment.set_round_id("one");
  plan.assignment.set_world_size(1);
  plan.examples.emplace_back().set_example_id(7);
  ASSERT_TRUE(scheduler.Submit(std::move(plan)).ok());
  ASSERT_TRUE(second_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->round_id(), "one");
  EXPECT_EQ(scheduler.Counts().running, 1);
}

TEST(RoundSchedulerRankTest, AWaitRunsOutOnTheSchedulersThreadAndCloseAnswersTheRest) {
  RoundScheduler scheduler;
  star::v1::JoinRoundRequest request;
  request.set_hostname("127.0.0.1");
  request.set_trainer_id("short");
  absl::Notification short_done;
  const absl::Time start = absl::Now();
  absl::Duration waited;
  ASSERT_TRUE(scheduler
                  .JoinAsync(request, absl::Milliseconds(200),
                             [&](std::optional<star::v1::RoundAssignment> a) {
                               EXPECT_FALSE(a.has_value());
                               waited = absl::Now() - start;
                               short_done.Notify();
                             })
                  .ok());
  request.set_trainer_id("long");
  absl::Notification long_done;
  ASSERT_TRUE(scheduler
                  .JoinAsync(request, absl::Seconds(60),
                             [&](std::optional<star::v1::RoundAssignment> a) {
                               EXPECT_FALSE(a.has_value());
                               long_done.Notify();
                             })
                  .ok());
  ASSERT_TRUE(short_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_GE(waited, absl::Milliseconds(190));
  EXPECT_LT(waited, absl::Seconds(2));
  EXPECT_FALSE(long_done.HasBeenNotified());
  scheduler.Close();
  EXPECT_TRUE(long_done.HasBeenNotified());
  // After Close a wait is answered at once.
  bool answered = false;
  ASSERT_TRUE(scheduler
                  .JoinAsync(request, absl::Seconds(60),
                             [&](std::optional<star::v1::RoundAssignment> a) {
                               answered = !a.has_value();
                             })
                  .ok());
  EXPECT_TRUE(answered);
}

TEST(RoundBackendTest, NcclWhenEveryRankHasAGpuGlooOtherwiseUnlessCudaIsRequired) {
  const std::vector<RankDevice> gpus = {{"a", true}, {"b", true}};
  const std::vector<RankDevice> mixed = {{"a", true}, {"b", false}, {"c", false}};
  EXPECT_EQ(*ChooseRoundBackend("auto", gpus), "nccl");
  EXPECT_EQ(*ChooseRoundBackend("", gpus), "nccl");
  EXPECT_EQ(*ChooseRoundBackend("cuda", gpus), "nccl");
  EXPECT_EQ(*ChooseRoundBackend("cpu", gpus), "gloo");
  EXPECT_EQ(*ChooseRoundBackend("auto", mixed), "gloo");
  EXPECT_EQ(*ChooseRoundBackend("cpu", mixed), "gloo");
  absl::StatusOr<std::string> refused = ChooseRoundBackend("cuda", mixed);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "compute.device is cuda but 2 of the round's 3 ranks have no CUDA device: b, c");
  EXPECT_EQ(ChooseRoundBackend("tpu", gpus).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RoundSchedulerRankTest, EveryRankOfAGpuRoundIsToldNccl) {
  RoundScheduler scheduler;
  RoundPlan plan;
  plan.assignment.set_round_id("gpu");
  plan.assignment.set_world_size(2);
  for (uint64_t i = 0; i < 2; ++i) plan.examples.emplace_back().set_example_id(i);
  ASSERT_TRUE(scheduler.Submit(std::move(plan)).ok());
  std::vector<std::string> backends(2);
  std::vector<std::thread> joins;
  for (int i = 0; i < 2; ++i) {
    joins.emplace_back([&, i] {
      star::v1::JoinRoundRequest request;
      request.set_trainer_id(absl::StrCat("t", i));
      request.set_hostname("127.0.0.1");
      request.set_has_cuda(true);
      std::optional<star::v1::RoundAssignment> a = scheduler.Join(request, absl::Seconds(10));
      ASSERT_TRUE(a.has_value());
      backends[i] = a->backend();
    });
  }
  for (auto& t : joins) t.join();
  EXPECT_EQ(backends, (std::vector<std::string>{"nccl", "nccl"}));
}

TEST(RoundSchedulerRankTest, ACudaRoundWhoseRanksHaveNoGpuFailsNamingThemAndAssignsNobody) {
  RoundScheduler scheduler;
  RoundPlan plan;
  plan.assignment.set_round_id("cuda-only");
  plan.assignment.set_world_size(1);
  plan.assignment.mutable_compute()->set_device("cuda");
  plan.examples.emplace_back().set_example_id(0);
  ASSERT_TRUE(scheduler.Submit(std::move(plan)).ok());
  star::v1::JoinRoundRequest request;
  request.set_trainer_id("cpu-rank");
  request.set_hostname("127.0.0.1");
  EXPECT_FALSE(scheduler.Join(request, absl::Milliseconds(200)).has_value());
  std::optional<RoundProgress> p = scheduler.Progress("cuda-only");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->state, RoundState::kFailed);
  EXPECT_EQ(p->error, "compute.device is cuda but 1 of the round's 1 ranks have no CUDA device: cpu-rank");
}

}  // namespace
}  // namespace star
