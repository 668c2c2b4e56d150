// A pass through the coordinator's shard queue, with this test as the worker: the questions
// cut into recorded shards, the progress reported, the end, a pass resumed from the shards the
// store recorded, and cancellation.

#include "coordinator/shard_pass.h"

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace star {
namespace {

class ShardPassTest : public ::testing::Test {
 protected:
  ShardPassTest() {
    for (uint64_t id = 1; id <= 5; ++id) {
      star::v1::ShardQuestion q;
      q.set_question_id(id);
      q.set_prompt(absl::StrCat("Q: ", id, "\nA:"));
      q.set_gold_answer(absl::StrCat(id));
      questions_.push_back(q);
    }
    pass_.job_id = "job";
    pass_.iteration = 1;
    pass_.kind = star::v1::SHARD_KIND_GENERATE;
    pass_.checkpoint_id = "m0";
    pass_.checkpoint = "/models/m0";
    pass_.questions = &questions_;
    pass_.task.mutable_math();
    pass_.rationalize = true;
    pass_.shard_size = 2;
    star::v1::RegisterWorkerRequest request;
    request.set_hostname("test");
    worker_ = coordinator_.RegisterWorker(request)->worker_id();
  }

  // Leases a shard (waiting up to 2 s) and answers every question; its shard, or nullopt.
  std::optional<star::v1::Shard> AnswerOne() {
    star::v1::LeaseShardRequest lease;
    lease.set_worker_id(worker_);
    lease.set_wait_ms(2000);
    absl::StatusOr<star::v1::LeaseShardResponse> leased = coordinator_.LeaseShard(lease);
    if (!leased.ok() || leased->lease_id().empty()) return std::nullopt;
    star::v1::SubmitShardResultRequest submit;
    submit.set_worker_id(worker_);
    submit.set_lease_id(leased->lease_id());
    submit.set_shard_id(leased->shard().shard_id());
    for (const star::v1::ShardQuestion& q : leased->shard().questions()) {
      star::v1::QuestionResult* r = submit.add_results();
      r->set_question_id(q.question_id());
      r->add_samples()->set_completion(absl::StrCat(" #### ", q.gold_answer(), "\n\n"));
    }
    EXPECT_TRUE(coordinator_.SubmitShardResult(submit).ok());
    return leased->shard();
  }

  Coordinator coordinator_{CoordinatorOptions{}};
  std::vector<star::v1::ShardQuestion> questions_;
  ShardPass pass_;
  std::string worker_;
};

TEST_F(ShardPassTest, CutsRecordedShardsAndEndsWhenEveryOneIsDone) {
  std::vector<std::pair<uint32_t, uint32_t>> seen;  // done, total
  absl::Status result;
  std::thread pass([&] {
    result = RunShardPass(coordinator_, pass_, [] { return false; },
                          [&](uint32_t done, uint32_t total, double) { seen.push_back({done, total}); });
  });
  std::vector<star::v1::Shard> shards;
  while (shards.size() < 3) {
    std::optional<star::v1::Shard> shard = AnswerOne();
    ASSERT_TRUE(shard.has_value());
    shards.push_back(*shard);
  }
  pass.join();
  EXPECT_TRUE(result.ok()) << result;
  // Five questions in shards of two: 2, 2, 1, each carrying what a worker needs.
  EXPECT_EQ(shards[0].shard_id(), "job-i1-gen-0");
  EXPECT_EQ(shards[0].questions_size() + shards[1].questions_size() + shards[2].questions_size(), 5);
  for (const star::v1::Shard& s : shards) {
    EXPECT_EQ(s.checkpoint_path(), "/models/m0");
    EXPECT_TRUE(s.rationalize());
    EXPECT_TRUE(s.task().has_math());
  }
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), (std::pair<uint32_t, uint32_t>{0, 3}));
  EXPECT_EQ(seen.back(), (std::pair<uint32_t, uint32_t>{3, 3}));
  // Recorded in the store, all done.
  absl::StatusOr<std::vector<StoredShard>> stored =
      coordinator_.store().ShardsOfPass("job", 1, star::v1::SHARD_KIND_GENERATE);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 3u);
  for (const StoredShard& s : *stored) EXPECT_TRUE(s.done);
}

TEST_F(ShardPassTest, AResumedPassGoesOnWithTheShardsItRecordedAndACancelledOneStops) {
  // A first run is cancelled after one shard is done.
  std::atomic<bool> cancel = false;
  absl::Status first;
  std::thread pass([&] {
    first = RunShardPass(coordinator_, pass_, [&] { return cancel.load(); }, [](uint32_t, uint32_t, double) {});
  });
  ASSERT_TRUE(AnswerOne().has_value());
  cancel = true;  // read by the pass within a second
  pass.join();
  EXPECT_EQ(first.code(), absl::StatusCode::kCancelled);

  // The same pass again, as after a restart (the queue empty, the store keeping the shards):
  // two shards are left, and the first is not redone.
  coordinator_.shards().Clear();
  uint32_t resumed_done = 99;
  absl::Status second;
  std::thread again([&] {
    second = RunShardPass(coordinator_, pass_, [] { return false; },
                          [&](uint32_t done, uint32_t, double) {
                            if (resumed_done == 99) resumed_done = done;
                          });
  });
  std::set<std::string> answered;
  for (int i = 0; i < 2; ++i) {
    std::optional<star::v1::Shard> shard = AnswerOne();
    ASSERT_TRUE(shard.has_value());
    answered.insert(shard->shard_id());
  }
  again.join();
  EXPECT_TRUE(second.ok()) << second;
  EXPECT_EQ(resumed_done, 1u);
  EXPECT_EQ(answered.size(), 2u);
  EXPECT_FALSE(answered.contains("job-i1-gen-0"));
}

}  // namespace
}  // namespace star
