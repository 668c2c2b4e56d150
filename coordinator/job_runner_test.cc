// A whole job in-process, with this test as the workers and the trainer ranks (through the
// coordinator's handlers, as the gRPC services call them): the math task with few-shot
// exemplars and rationalization, the kept set and what the round trains on, the plateau rule,
// a failed round retried, and cancellation. The runner waits on events: the test never sleeps.

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "coordinator/job_config.h"
#include "coordinator/job_manager.h"
#include "coordinator/job_runner.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_environment.h"

namespace star {
namespace {

constexpr char kExemplar[] = "Q: What is 1 + 1?\nA: 1 + 1 = 2\n#### 2\n\n";

class JobRunnerTest : public ::testing::Test {
 protected:
  JobRunnerTest()
      : jobs_(&coordinator_, dir_.path(), PathPolicy::Create({dir_.path()}).value()) {
    // Only the config and tokenizer of the base model are read (the prompts must fit its
    // context); the scripted workers generate nothing from it.
    const std::string m0 = dir_.File("m0");
    std::filesystem::create_directories(m0);
    for (const char* file : {"config.json", "tokenizer.json"}) {
      std::filesystem::copy_file(absl::StrCat(STAR_SOURCE_DIR, "/examples/tiny-char-llama/", file),
                                 absl::StrCat(m0, "/", file));
    }
    spec_ = DefaultJobSpec();
    spec_.set_name("scripted");
    spec_.set_iterations(3);
    spec_.set_shard_size(2);
    spec_.mutable_model()->set_base_checkpoint(m0);
    spec_.mutable_filter()->set_rationalization(true);
    spec_.mutable_filter()->set_deduplicate(true);
    spec_.mutable_training()->set_initial_steps(5);
    star::v1::FileTaskSpec& math = *spec_.mutable_task()->mutable_math();
    std::string train;
    for (int i = 1; i <= 4; ++i) {
      absl::StrAppend(&train, "{\"question\": \"What is ", i, " + ", i, "?\", \"answer\": \"#### ",
                      2 * i, "\"}\n");
    }
    math.set_train_file(dir_.Write("train.jsonl", train));
    math.set_eval_file(dir_.Write("eval.jsonl", "{\"question\": \"What is 7 + 7?\", \"answer\": \"#### 14\"}\n"
                                                "{\"question\": \"What is 8 + 8?\", \"answer\": \"#### 16\"}\n"));
    math.set_few_shot_file(dir_.Write("shots.jsonl", "{\"question\": \"What is 1 + 1?\", \"answer\": \"1 + 1 = 2\\n#### 2\"}\n"));
  }

  std::string RegisterWorker() {
    star::v1::RegisterWorkerRequest request;
    request.set_hostname("scripted");
    return coordinator_.RegisterWorker(request)->worker_id();
  }

  // Leases the next shard (waiting up to 50 ms) and answers it: held-out questions right;
  // training questions with an odd answer's half right at once, the others wrong and then right
  // after the hint. Returns false when no shard came.
  bool AnswerNextShard(const std::string& worker) {
    star::v1::LeaseShardRequest lease;
    lease.set_worker_id(worker);
    lease.set_wait_ms(50);
    absl::StatusOr<star::v1::LeaseShardResponse> leased = coordinator_.LeaseShard(lease);
    if (!leased.ok() || leased->lease_id().empty()) return false;
    const star::v1::Shard& shard = leased->shard();
    star::v1::SubmitShardResultRequest submit;
    submit.set_worker_id(worker);
    submit.set_lease_id(leased->lease_id());
    submit.set_shard_id(shard.shard_id());
    for (const star::v1::ShardQuestion& q : shard.questions()) {
      // Workers are asked with the exemplars first, the hint only in the hinted prompt.
      EXPECT_TRUE(absl::StartsWith(q.prompt(), kExemplar)) << q.prompt();
      EXPECT_TRUE(absl::EndsWith(q.prompt(), "?\nA:")) << q.prompt();
      EXPECT_TRUE(absl::EndsWith(q.hinted_prompt(), absl::StrCat("? (", q.gold_answer(), ")\nA:")))
          << q.hinted_prompt();
      star::v1::QuestionResult* r = submit.add_results();
      r->set_question_id(q.question_id());
      const std::string right = absl::StrCat(" That makes ", q.gold_answer(), ".\n#### ", q.gold_answer(), "\n\n");
      const bool at_once = shard.kind() == star::v1::SHARD_KIND_EVALUATE || (std::stoi(q.gold_answer()) / 2) % 2 == 1;
      if (at_once) {
        r->add_samples()->set_completion(right);
      } else {
        r->add_samples()->set_completion(" No idea.\n#### 0\n\n");
        star::v1::Sample* hinted = r->add_samples();
        hinted->set_completion(right);
        hinted->set_rationalized(true);
      }
    }
    EXPECT_TRUE(coordinator_.SubmitShardResult(submit).ok());
    return true;
  }

  // Joins a round if one forms within 50 ms, checks what it trains on and reports it: failed
  // when `fail` (then clears it), else done. Returns whether a round came.
  bool PlayTrainerRank(bool* fail) {
    star::v1::JoinRoundRequest join;
    join.set_trainer_id("t0");
    join.set_hostname("scripted");
    join.set_wait_ms(50);
    absl::StatusOr<star::v1::JoinRoundResponse> joined = coordinator_.JoinRound(join);
    if (!joined.ok() || !joined->has_assignment()) return false;
    const star::v1::RoundAssignment& round = joined->assignment();
    star::v1::StreamExamplesRequest stream;
    stream.set_round_id(round.round_id());
    absl::StatusOr<std::vector<star::v1::TrainingExample>> examples = coordinator_.RoundExamples(stream);
    EXPECT_TRUE(examples.ok());
    trained_on_.push_back(*examples);
    star::v1::ReportRoundRequest report;
    report.set_round_id(round.round_id());
    report.set_ok(!*fail);
    report.set_error(*fail ? "a scripted failure" : "");
    report.set_final_loss(0.5);
    *fail = false;
    EXPECT_TRUE(coordinator_.ReportRound(report).ok());
    return true;
  }

  // Plays every worker and the trainer until the job ends (at most 60 s).
  star::v1::JobStatus RunToTheEnd(JobRunner* runner, bool fail_first_round = false) {
    const std::string worker = RegisterWorker();
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    bool fail = fail_first_round;
    while (!runner->Finished() && absl::Now() < deadline) {
      if (AnswerNextShard(worker)) continue;
      PlayTrainerRank(&fail);
    }
    EXPECT_TRUE(runner->Finished());
    return runner->Status();
  }

  testing::TempDir dir_;
  Coordinator coordinator_{CoordinatorOptions{}};
  JobManager jobs_;
  star::v1::JobSpec spec_;
  std::vector<std::vector<star::v1::TrainingExample>> trained_on_;
};

TEST_F(JobRunnerTest, AMathJobKeepsVerifiedRationalesTrainsOnZeroShotPromptsAndStopsAtAPlateau) {
  spec_.set_plateau_patience(1);
  absl::StatusOr<std::string> id = jobs_.Submit(spec_);
  ASSERT_TRUE(id.ok()) << id.status();
  const star::v1::JobStatus status = RunToTheEnd(jobs_.Find(*id));
  ASSERT_EQ(status.state(), star::v1::JOB_STATE_SUCCEEDED) << status.error();
  // Held-out accuracy is 100% from M0 on: iteration 1 sets the bar, iteration 2 gains nothing
  // and, with patience 1, is the last of the three.
  ASSERT_EQ(status.results_size(), 3);
  const star::v1::IterationResult& first = status.results(1);
  EXPECT_EQ(first.questions_attempted(), 4u);
  EXPECT_EQ(first.accepted_direct(), 2u);        // answers 2 and 6: right at once
  EXPECT_EQ(first.accepted_rationalized(), 2u);  // answers 4 and 8: only after the hint
  EXPECT_EQ(first.rejected(), 0u);
  ASSERT_EQ(first.kept_size(), 1);
  EXPECT_EQ(first.kept(0).bucket(), "all");
  EXPECT_EQ(first.kept(0).direct(), 2u);
  EXPECT_EQ(first.kept(0).rationalized(), 2u);
  EXPECT_EQ(first.train_steps(), 5u);
  EXPECT_DOUBLE_EQ(first.train_loss(), 0.5);
  for (const star::v1::IterationResult& r : status.results()) {
    ASSERT_EQ(r.accuracy_size(), 1);
    EXPECT_EQ(r.accuracy(0).correct(), 2u);
  }

  // The round trained on the four kept rationales, each after its question's own prompt:
  // no exemplar, no hint.
  ASSERT_EQ(trained_on_.size(), 2u);
  ASSERT_EQ(trained_on_[0].size(), 4u);
  for (const star::v1::TrainingExample& e : trained_on_[0]) {
    EXPECT_TRUE(absl::StartsWith(e.prompt(), "Q: What is ")) << e.prompt();
    EXPECT_TRUE(absl::EndsWith(e.prompt(), "?\nA:")) << e.prompt();
    EXPECT_EQ(e.prompt().find("(", 0), std::string::npos) << e.prompt();
    EXPECT_NE(e.completion().find("#### "), std::string::npos);
  }
  // The kept set on disk is the same text.
  const std::string kept = testing::ReadFile(dir_.File(absl::StrCat("jobs/", *id, "/iterations/1/train.jsonl")));
  std::vector<std::string> lines = absl::StrSplit(kept, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  for (const std::string& line : lines) {
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["prompt"].get<std::string>().find(kExemplar), std::string::npos) << line;
  }
}

TEST_F(JobRunnerTest, AFailedRoundIsRetriedAsAFreshRound) {
  spec_.set_iterations(1);
  absl::StatusOr<std::string> id = jobs_.Submit(spec_);
  ASSERT_TRUE(id.ok()) << id.status();
  const star::v1::JobStatus status = RunToTheEnd(jobs_.Find(*id), /*fail_first_round=*/true);
  ASSERT_EQ(status.state(), star::v1::JOB_STATE_SUCCEEDED) << status.error();
  // The failed attempt and its retry, with the same examples.
  ASSERT_EQ(trained_on_.size(), 2u);
  EXPECT_EQ(trained_on_[0].size(), trained_on_[1].size());
  EXPECT_EQ(status.results_size(), 2);
}

TEST_F(JobRunnerTest, ACancelledJobStopsInItsPassAndEndsCancelled) {
  absl::StatusOr<std::string> id = jobs_.Submit(spec_);
  ASSERT_TRUE(id.ok()) << id.status();
  JobRunner* runner = jobs_.Find(*id);
  // Wait for the first pass (M0's evaluation) to have its shards queued, then cancel with no
  // worker taking them.
  uint64_t seen = 0;
  star::v1::JobStatus status;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (status.shards_total() == 0 && absl::Now() < deadline) {
    std::tie(status, seen) = runner->WaitForChange(seen, absl::Seconds(1));
  }
  ASSERT_GT(status.shards_total(), 0u);
  ASSERT_TRUE(jobs_.Cancel(*id).ok());
  while (!runner->Finished() && absl::Now() < deadline) {
    std::tie(status, seen) = runner->WaitForChange(seen, absl::Seconds(1));
  }
  EXPECT_EQ(runner->Status().state(), star::v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(runner->Status().results_size(), 0);
}

}  // namespace
}  // namespace star
