#include "coordinator/coordinator_metrics.h"

#include "absl/strings/str_cat.h"
#include "coordinator/coordinator.h"
#include "coordinator/job_manager.h"
#include "gtest/gtest.h"
#include "tasks/addition_task.h"
#include "tests/small_job.h"
#include "tests/test_environment.h"

namespace star {
namespace {

// The line of `page` that starts with `series` followed by a space, without it; "" if none.
std::string Sample(const std::string& page, const std::string& series) {
  size_t at = page.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  size_t start = at + series.size() + 2;
  return page.substr(start, page.find('\n', start) - start);
}

// What a worker that always answers right submits: the scratchpad closes and the gold answer
// follows, which is what the addition task's verifier reads.
std::string RightAnswer(const star::v1::ShardQuestion& q) {
  return "<scratch>\n</scratch>\n" + q.gold_answer() + "\n";
}

class CoordinatorMetricsTest : public ::testing::Test {
 protected:
  CoordinatorMetricsTest()
      : metrics_(&registry_),
        coordinator_(Options(&metrics_)),
        jobs_(&coordinator_, state_.path(), PathPolicy::Create({state_.path()}).value()) {
    metrics_.CollectFrom(&coordinator_, &jobs_);
  }

  static CoordinatorOptions Options(CoordinatorMetrics* metrics) {
    CoordinatorOptions options;
    options.metrics = metrics;
    return options;
  }

  std::string RegisterWorker() {
    star::v1::RegisterWorkerRequest request;
    request.set_hostname("metrics-test");
    return coordinator_.RegisterWorker(request)->worker_id();
  }

  // Leases the next shard (waiting up to `wait`) and answers every question right (and, with
  // `wrong_too`, adds a wrong direct sample and a right hinted one per question).
  bool AnswerNextShard(const std::string& worker, absl::Duration wait, bool wrong_too = false) {
    star::v1::LeaseShardRequest lease;
    lease.set_worker_id(worker);
    lease.set_wait_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(wait)));
    absl::StatusOr<star::v1::LeaseShardResponse> leased = coordinator_.LeaseShard(lease);
    if (!leased.ok() || leased->lease_id().empty()) return false;
    star::v1::SubmitShardResultRequest submit;
    submit.set_worker_id(worker);
    submit.set_lease_id(leased->lease_id());
    submit.set_shard_id(leased->shard().shard_id());
    for (const star::v1::ShardQuestion& q : leased->shard().questions()) {
      star::v1::QuestionResult* r = submit.add_results();
      r->set_question_id(q.question_id());
      if (wrong_too) {
        r->add_samples()->set_completion("<scratch>\n</scratch>\nno\n");
        star::v1::Sample* hinted = r->add_samples();
        hinted->set_completion(RightAnswer(q));
        hinted->set_rationalized(true);
      } else {
        r->add_samples()->set_completion(RightAnswer(q));
      }
    }
    absl::StatusOr<star::v1::SubmitShardResultResponse> done =
        coordinator_.SubmitShardResult(submit);
    EXPECT_TRUE(done.ok()) << done.status();
    return done.ok();
  }

  testing::TempDir state_;  // the jobs' directories
  metrics::MetricRegistry registry_;
  CoordinatorMetrics metrics_;
  Coordinator coordinator_;
  JobManager jobs_;
};

TEST_F(CoordinatorMetricsTest, HandlersCountLeasesResultsAndVerifiedSamples) {
  std::string worker = RegisterWorker();
  star::v1::Shard shard;
  shard.set_shard_id("s1");
  shard.set_job_id("job");
  shard.set_iteration(1);
  shard.set_kind(star::v1::SHARD_KIND_GENERATE);
  shard.mutable_task()->mutable_addition()->set_max_digits(2);
  AdditionTask task;
  for (const Question& q : {AdditionTask::MakeQuestion(1, 12, 34, 2),
                            AdditionTask::MakeQuestion(2, 5, 7, 1)}) {
    star::v1::ShardQuestion* sq = shard.add_questions();
    sq->set_question_id(q.id);
    sq->set_prompt(task.Prompt(q));
    sq->set_gold_answer(q.answer);
  }
  ASSERT_TRUE(coordinator_.shards().Add(shard).ok());
  ASSERT_TRUE(AnswerNextShard(worker, absl::ZeroDuration(), /*wrong_too=*/true));
  // Nothing left: an empty long-poll; an unknown worker: an error.
  EXPECT_FALSE(AnswerNextShard(worker, absl::ZeroDuration()));
  star::v1::LeaseShardRequest unknown;
  unknown.set_worker_id("w-nobody");
  EXPECT_EQ(coordinator_.LeaseShard(unknown).status().code(), absl::StatusCode::kNotFound);
  star::v1::SubmitShardResultRequest refused;
  refused.set_worker_id(worker);
  refused.set_lease_id("l-none");
  refused.set_shard_id("s-none");
  EXPECT_FALSE(coordinator_.SubmitShardResult(refused).ok());

  std::string page = registry_.Render();
  EXPECT_EQ(Sample(page, "star_coordinator_lease_shard_duration_seconds_count{outcome=\"leased\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_lease_shard_duration_seconds_count{outcome=\"empty\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_lease_shard_duration_seconds_count{outcome=\"error\"}"), "1");
  // Buckets beyond the longest long-poll wait (30 s), in positional notation.
  for (const char* le : {"0.001", "0.0025", "30", "60", "120", "+Inf"}) {
    EXPECT_EQ(Sample(page, absl::StrCat("star_coordinator_lease_shard_duration_seconds_bucket{"
                                        "outcome=\"empty\",le=\"", le, "\"}")),
              "1")
        << le;
  }
  EXPECT_EQ(Sample(page, "star_coordinator_shard_results_total{outcome=\"completed\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_shard_results_total{outcome=\"refused\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_shard_results_total{outcome=\"duplicate\"}"), "0");
  EXPECT_EQ(Sample(page, "star_coordinator_questions_attempted_total{kind=\"generate\"}"), "2");
  EXPECT_EQ(Sample(page, "star_coordinator_samples_verified_total{kind=\"generate\",origin=\"direct\",verdict=\"rejected\"}"), "2");
  EXPECT_EQ(Sample(page, "star_coordinator_samples_verified_total{kind=\"generate\",origin=\"rationalized\",verdict=\"accepted\"}"), "2");
  EXPECT_EQ(Sample(page, "star_coordinator_samples_verified_total{kind=\"generate\",origin=\"direct\",verdict=\"accepted\"}"), "0");
  EXPECT_EQ(Sample(page, "star_coordinator_shards{state=\"done\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_workers"), "1");
}

TEST(CoordinatorMetricsStateTest, ScrapeCopiesQueueExpiryAndRoundState) {
  metrics::MetricRegistry registry;
  CoordinatorMetrics metrics(&registry);
  CoordinatorOptions options;
  options.metrics = &metrics;
  // Leases that run out at once.
  options.lease_timeout = absl::ZeroDuration();
  Coordinator coordinator(options);
  testing::TempDir state;
  JobManager jobs(&coordinator, state.path(), PathPolicy::Create({state.path()}).value());
  metrics.CollectFrom(&coordinator, &jobs);

  for (const char* id : {"a", "b"}) {
    star::v1::Shard shard;
    shard.set_shard_id(id);
    ASSERT_TRUE(coordinator.shards().Add(shard).ok());
  }
  ASSERT_TRUE(coordinator.shards().Lease("w", absl::ZeroDuration(), absl::ZeroDuration()));
  std::string page = registry.Render();
  EXPECT_EQ(Sample(page, "star_coordinator_shards{state=\"pending\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_shards{state=\"leased\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_shard_leases_expired_total"), "0");
  coordinator.shards().ExpireLeases();
  page = registry.Render();
  EXPECT_EQ(Sample(page, "star_coordinator_shards{state=\"pending\"}"), "2");
  EXPECT_EQ(Sample(page, "star_coordinator_shard_leases_expired_total"), "1");
  // A scrape without new expiries adds nothing.
  EXPECT_EQ(Sample(registry.Render(), "star_coordinator_shard_leases_expired_total"), "1");

  RoundPlan plan;
  plan.assignment.set_round_id("r1");
  plan.assignment.set_world_size(1);
  plan.examples.resize(1);
  ASSERT_TRUE(coordinator.rounds().Submit(plan).ok());
  EXPECT_EQ(Sample(registry.Render(), "star_coordinator_rounds{state=\"forming\"}"), "1");
  star::v1::JoinRoundRequest join;
  join.set_trainer_id("t0");
  join.set_hostname("localhost");
  ASSERT_TRUE(coordinator.JoinRound(join)->has_assignment());
  page = registry.Render();
  EXPECT_EQ(Sample(page, "star_coordinator_rounds{state=\"running\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_trainers"), "1");
  star::v1::ReportRoundRequest report;
  report.set_round_id("r1");
  report.set_rank(0);
  report.set_ok(false);
  report.set_error("out of memory");
  ASSERT_TRUE(coordinator.ReportRound(report).ok());
  page = registry.Render();
  EXPECT_EQ(Sample(page, "star_coordinator_rounds{state=\"running\"}"), "0");
  EXPECT_EQ(Sample(page, "star_coordinator_rounds_ended_total{outcome=\"failed\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_rounds_ended_total{outcome=\"succeeded\"}"), "0");
  // No job yet: no job series, but the names are there.
  EXPECT_EQ(page.find("star_job_state{"), std::string::npos) << page;
  EXPECT_NE(page.find("# TYPE star_job_heldout_accuracy_ratio gauge"), std::string::npos);
}

// A whole job driven through the handlers, with this test as the worker and the trainer rank:
// the scrape shows its state, phase and every iteration's results.
TEST_F(CoordinatorMetricsTest, ScrapeShowsTheLatestJobsIterationResults) {
  star::v1::JobSpec spec = testing::SmallAdditionJob(state_, "metrics");
  absl::StatusOr<std::string> id = jobs_.Submit(spec);
  ASSERT_TRUE(id.ok()) << id.status();
  JobRunner* runner = jobs_.Find(*id);
  ASSERT_NE(runner, nullptr);

  std::string worker = RegisterWorker();
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  uint64_t seen = 0;
  // Answer shards (all right: the generation pass keeps 4 direct rationales) and play the one
  // trainer rank until the job ends.
  while (!runner->Finished() && absl::Now() < deadline) {
    if (AnswerNextShard(worker, absl::Milliseconds(50))) continue;
    star::v1::JoinRoundRequest join;
    join.set_trainer_id("t0");
    join.set_hostname("localhost");
    join.set_wait_ms(50);
    absl::StatusOr<star::v1::JoinRoundResponse> joined = coordinator_.JoinRound(join);
    ASSERT_TRUE(joined.ok());
    if (joined->has_assignment()) {
      star::v1::ReportRoundRequest report;
      report.set_round_id(joined->assignment().round_id());
      report.set_ok(true);
      report.set_final_loss(0.25);
      ASSERT_TRUE(coordinator_.ReportRound(report).ok());
    }
    seen = runner->WaitForChange(seen, absl::Milliseconds(10)).second;
  }
  ASSERT_TRUE(runner->Finished());
  ASSERT_EQ(runner->Status().state(), star::v1::JOB_STATE_SUCCEEDED) << runner->Status().error();

  std::string page = registry_.Render();
  const std::string job = "job_id=\"" + *id + "\"";
  EXPECT_EQ(Sample(page, "star_job_state{" + job + ",state=\"succeeded\"}"), "1") << page;
  EXPECT_EQ(Sample(page, "star_job_state{" + job + ",state=\"running\"}"), "0");
  EXPECT_EQ(Sample(page, "star_job_phase{" + job + ",phase=\"done\"}"), "1");
  EXPECT_EQ(Sample(page, "star_job_iteration{" + job + "}"), "1");
  for (const char* iteration : {"0", "1"}) {
    for (const char* bucket : {"1", "2"}) {
      EXPECT_EQ(Sample(page, "star_job_heldout_accuracy_ratio{" + job + ",iteration=\"" +
                                 iteration + "\",bucket=\"" + bucket + "\"}"),
                "1")
          << page;
    }
  }
  EXPECT_EQ(Sample(page, "star_job_questions_attempted{" + job + ",iteration=\"1\"}"), "4");
  EXPECT_EQ(Sample(page, "star_job_rationales_kept{" + job + ",iteration=\"1\",origin=\"direct\"}"), "4");
  EXPECT_EQ(Sample(page, "star_job_rationales_kept{" + job + ",iteration=\"1\",origin=\"rationalized\"}"), "0");
  EXPECT_EQ(Sample(page, "star_job_questions_rejected{" + job + ",iteration=\"1\"}"), "0");
  EXPECT_EQ(Sample(page, "star_job_train_loss{" + job + ",iteration=\"1\"}"), "0.25");
  EXPECT_NE(Sample(page, "star_job_phase_duration_seconds{" + job + ",iteration=\"1\",phase=\"train\"}"), "");
  // Iteration 0 is M0: evaluated, never generated or trained.
  EXPECT_EQ(page.find("star_job_questions_attempted{" + job + ",iteration=\"0\"}"), std::string::npos);
  EXPECT_EQ(Sample(page, "star_coordinator_rounds_ended_total{outcome=\"succeeded\"}"), "1");
  EXPECT_EQ(Sample(page, "star_coordinator_questions_attempted_total{kind=\"evaluate\"}"), "8");
}

}  // namespace
}  // namespace star
