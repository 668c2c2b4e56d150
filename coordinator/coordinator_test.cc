#include "coordinator/coordinator.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tasks/addition_task.h"

namespace star {
namespace {

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    star::v1::RegisterWorkerRequest reg;
    reg.set_hostname("test-host");
    worker_ = coordinator_.RegisterWorker(reg)->worker_id();
    questions_ = {AdditionTask::MakeQuestion(1, 12, 34, 2), AdditionTask::MakeQuestion(2, 5, 7, 1)};
  }

  star::v1::Shard MakeShard(const std::string& id, star::v1::ShardKind kind) {
    star::v1::Shard shard;
    shard.set_shard_id(id);
    shard.set_job_id("job-1");
    shard.set_iteration(3);
    shard.set_kind(kind);
    shard.mutable_task()->mutable_addition()->set_max_digits(2);
    shard.mutable_generation()->set_samples_per_question(1);
    for (const Question& q : questions_) {
      auto* sq = shard.add_questions();
      sq->set_question_id(q.id);
      sq->set_prompt(task_.Prompt(q));
      sq->set_hinted_prompt(task_.HintedPrompt(q));
      sq->set_gold_answer(q.answer);
    }
    return shard;
  }

  std::string Lease() {
    star::v1::LeaseShardRequest request;
    request.set_worker_id(worker_);
    absl::StatusOr<star::v1::LeaseShardResponse> lease = coordinator_.LeaseShard(request);
    EXPECT_TRUE(lease.ok());
    return lease->lease_id();
  }

  // Question 1 answered right directly; question 2 wrong directly, right with the hint.
  star::v1::SubmitShardResultRequest GoodSubmission(const std::string& lease,
                                                    const std::string& shard) {
    star::v1::SubmitShardResultRequest r;
    r.set_worker_id(worker_);
    r.set_lease_id(lease);
    r.set_shard_id(shard);
    auto* q1 = r.add_results();
    q1->set_question_id(1);
    q1->add_samples()->set_completion(*AdditionTask().ReferenceCompletion(questions_[0]));
    auto* q2 = r.add_results();
    q2->set_question_id(2);
    q2->add_samples()->set_completion("<scratch>\n</scratch>\n1 3\n\n");
    auto* hinted = q2->add_samples();
    hinted->set_completion(*AdditionTask().ReferenceCompletion(questions_[1]));
    hinted->set_rationalized(true);
    return r;
  }

  Coordinator coordinator_{CoordinatorOptions{}};
  AdditionTask task_;
  std::string worker_;
  std::vector<Question> questions_;
};

TEST_F(CoordinatorTest, SubmissionIsVerifiedAndAcceptedRationalesStoredWithoutTheHint) {
  ASSERT_TRUE(coordinator_.shards().Add(MakeShard("s1", star::v1::SHARD_KIND_GENERATE)).ok());
  std::string lease = Lease();
  absl::StatusOr<star::v1::SubmitShardResultResponse> r =
      coordinator_.SubmitShardResult(GoodSubmission(lease, "s1"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted(), 2u);
  EXPECT_EQ(r->rejected(), 1u);
  EXPECT_FALSE(r->duplicate());
  std::vector<AcceptedRationale> kept = *coordinator_.store().Accepted("job-1", 3);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_FALSE(kept[0].rationalized);
  EXPECT_TRUE(kept[1].rationalized);
  EXPECT_EQ(kept[1].prompt, task_.Prompt(questions_[1]));
  EXPECT_EQ(kept[1].prompt.find("Hint"), std::string::npos);
  EXPECT_TRUE(coordinator_.shards().AllDone());
}

TEST_F(CoordinatorTest, ASubmissionAskingForItsNextShardGetsItsLeaseOnlyWhenItCompletesTheShard) {
  for (const char* id : {"s1", "s2"}) {
    ASSERT_TRUE(coordinator_.shards().Add(MakeShard(id, star::v1::SHARD_KIND_GENERATE)).ok());
  }
  const std::string lease = Lease();
  star::v1::SubmitShardResultRequest submit = GoodSubmission(lease, "s1");
  submit.set_lease_next(true);
  absl::StatusOr<star::v1::SubmitShardResultResponse> r = coordinator_.SubmitShardResult(submit);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted(), 2u);
  // s2 is leased to this worker with the answer, as LeaseShard would have.
  ASSERT_FALSE(r->next().lease_id().empty());
  EXPECT_EQ(r->next().shard().shard_id(), "s2");
  EXPECT_GT(r->next().lease_expires_unix_ms(), 0);
  EXPECT_EQ(coordinator_.shards().Counts().leased, 1);
  // The same submission again (its answer was lost) is a duplicate and leases nothing more.
  absl::StatusOr<star::v1::SubmitShardResultResponse> again = coordinator_.SubmitShardResult(submit);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate());
  EXPECT_TRUE(again->next().lease_id().empty());
  // A refused submission leases nothing either.
  star::v1::SubmitShardResultRequest bad = GoodSubmission(r->next().lease_id(), "s2");
  bad.mutable_results(0)->set_question_id(99);
  bad.set_lease_next(true);
  EXPECT_EQ(coordinator_.SubmitShardResult(bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The next shard completes; nothing is pending, so its answer carries no lease.
  star::v1::SubmitShardResultRequest last = GoodSubmission(r->next().lease_id(), "s2");
  last.set_lease_next(true);
  absl::StatusOr<star::v1::SubmitShardResultResponse> done = coordinator_.SubmitShardResult(last);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->duplicate());
  EXPECT_TRUE(done->next().lease_id().empty());
  EXPECT_TRUE(coordinator_.shards().AllDone());
}

TEST_F(CoordinatorTest, SecondSubmissionIsAcknowledgedAndIgnored) {
  ASSERT_TRUE(coordinator_.shards().Add(MakeShard("s1", star::v1::SHARD_KIND_GENERATE)).ok());
  std::string lease = Lease();
  ASSERT_TRUE(coordinator_.SubmitShardResult(GoodSubmission(lease, "s1")).ok());
  absl::StatusOr<star::v1::SubmitShardResultResponse> again =
      coordinator_.SubmitShardResult(GoodSubmission(lease, "s1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate());
  EXPECT_EQ(again->accepted(), 0u);
  EXPECT_EQ(*coordinator_.store().AcceptedCount(), 2);
}

TEST_F(CoordinatorTest, ResultForAQuestionNotInTheShardChangesNothing) {
  ASSERT_TRUE(coordinator_.shards().Add(MakeShard("s1", star::v1::SHARD_KIND_GENERATE)).ok());
  std::string lease = Lease();
  star::v1::SubmitShardResultRequest bad = GoodSubmission(lease, "s1");
  bad.add_results()->set_question_id(99);
  absl::Status s = coordinator_.SubmitShardResult(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("results[2].question_id 99 is not in shard 's1'"), std::string::npos) << s;
  EXPECT_EQ(coordinator_.shards().Counts().leased, 1);
  EXPECT_EQ(*coordinator_.store().AcceptedCount(), 0);
  // The worker can still submit correctly under the same lease.
  EXPECT_TRUE(coordinator_.SubmitShardResult(GoodSubmission(lease, "s1")).ok());
}

TEST_F(CoordinatorTest, AResultThatLeavesAQuestionUnansweredChangesNothing) {
  for (star::v1::ShardKind kind : {star::v1::SHARD_KIND_GENERATE, star::v1::SHARD_KIND_EVALUATE}) {
    const std::string id = kind == star::v1::SHARD_KIND_GENERATE ? "s1" : "e1";
    ASSERT_TRUE(coordinator_.shards().Add(MakeShard(id, kind)).ok());
    std::string lease = Lease();
    const int64_t accepted_before = *coordinator_.store().AcceptedCount();
    star::v1::SubmitShardResultRequest good = GoodSubmission(lease, id);
    if (kind == star::v1::SHARD_KIND_EVALUATE) good.mutable_results(1)->mutable_samples()->RemoveLast();

    star::v1::SubmitShardResultRequest missing = good;
    missing.mutable_results()->DeleteSubrange(1, 1);
    absl::Status s = coordinator_.SubmitShardResult(missing).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find(absl::StrCat("results answer 1 of the 2 questions of shard '", id,
                                            "'; question_id 2 is missing")),
              std::string::npos)
        << s;
    star::v1::SubmitShardResultRequest none = good;
    none.clear_results();
    EXPECT_NE(coordinator_.SubmitShardResult(none).status().message().find(
                  "results answer 0 of the 2 questions"),
              std::string::npos);
    star::v1::SubmitShardResultRequest empty = good;
    empty.mutable_results(0)->clear_samples();
    EXPECT_NE(coordinator_.SubmitShardResult(empty).status().message().find(
                  "results[0] (question_id 1) has no samples"),
              std::string::npos);

    // Nothing changed: the lease is still held, and the worker can submit the whole result.
    EXPECT_EQ(coordinator_.shards().Counts().leased, 1);
    EXPECT_EQ(*coordinator_.store().AcceptedCount(), accepted_before);
    absl::StatusOr<star::v1::SubmitShardResultResponse> r = coordinator_.SubmitShardResult(good);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->duplicate());
    EXPECT_TRUE(coordinator_.shards().AllDone());
  }
}

TEST_F(CoordinatorTest, TooManySamplesOversizedAndHintedEvaluationAreRejected) {
  ASSERT_TRUE(coordinator_.shards().Add(MakeShard("s1", star::v1::SHARD_KIND_GENERATE)).ok());
  std::string lease = Lease();
  star::v1::SubmitShardResultRequest many = GoodSubmission(lease, "s1");
  for (int i = 0; i < 3; ++i) many.mutable_results(0)->add_samples()->set_completion("x");
  EXPECT_NE(coordinator_.SubmitShardResult(many).status().message().find(
                "results[0].samples has 4 samples; this shard allows 2"),
            std::string::npos);
  star::v1::SubmitShardResultRequest huge = GoodSubmission(lease, "s1");
  huge.mutable_results(0)->mutable_samples(0)->set_completion(std::string(70000, 'a'));
  EXPECT_NE(coordinator_.SubmitShardResult(huge).status().message().find(
                "results[0].samples[0].completion is 70000 bytes"),
            std::string::npos);
  ASSERT_TRUE(coordinator_.shards().Add(MakeShard("e1", star::v1::SHARD_KIND_EVALUATE)).ok());
  std::string eval_lease = Lease();
  star::v1::SubmitShardResultRequest hinted = GoodSubmission(eval_lease, "e1");
  hinted.mutable_results(1)->mutable_samples()->DeleteSubrange(0, 1);
  EXPECT_NE(coordinator_.SubmitShardResult(hinted).status().message().find(
                "evaluation shards are never hinted"),
            std::string::npos);
  EXPECT_EQ(*coordinator_.store().AcceptedCount(), 0);
}

TEST_F(CoordinatorTest, EvaluationAnswersAreCountedNotStored) {
  ASSERT_TRUE(coordinator_.shards().Add(MakeShard("e1", star::v1::SHARD_KIND_EVALUATE)).ok());
  std::string lease = Lease();
  star::v1::SubmitShardResultRequest r = GoodSubmission(lease, "e1");
  r.mutable_results(1)->mutable_samples()->RemoveLast();
  absl::StatusOr<star::v1::SubmitShardResultResponse> out = coordinator_.SubmitShardResult(r);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->accepted(), 1u);
  EXPECT_EQ(out->rejected(), 1u);
  EXPECT_EQ(*coordinator_.store().AcceptedCount(), 0);
}

TEST_F(CoordinatorTest, UnknownWorkerShardAndLeaseAreNotFound) {
  ASSERT_TRUE(coordinator_.shards().Add(MakeShard("s1", star::v1::SHARD_KIND_GENERATE)).ok());
  std::string lease = Lease();
  star::v1::SubmitShardResultRequest r = GoodSubmission(lease, "s1");
  r.set_worker_id("w-unknown");
  EXPECT_EQ(coordinator_.SubmitShardResult(r).status().code(), absl::StatusCode::kNotFound);
  r = GoodSubmission(lease, "s-unknown");
  EXPECT_EQ(coordinator_.SubmitShardResult(r).status().code(), absl::StatusCode::kNotFound);
  r = GoodSubmission("l-unknown", "s1");
  EXPECT_EQ(coordinator_.SubmitShardResult(r).status().code(), absl::StatusCode::kNotFound);
  r = GoodSubmission(lease, "s1");
  r.clear_lease_id();
  EXPECT_EQ(coordinator_.SubmitShardResult(r).status().message(), "lease_id is required");
}

}  // namespace
}  // namespace star
