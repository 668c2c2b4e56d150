// The coordinator under concurrent load, in one process so that ThreadSanitizer sees every
// thread (scripts/tsan.sh): a SQLite state store on disk, worker threads calling the
// coordinator as the gRPC service's handler threads do (leasing, renewing, submitting) while
// some leases run out and some submissions arrive twice or late, and a scraper rendering
// /metrics and asking for the cluster all the while. The gRPC layer above it only forwards
// (coordinator/grpc_services.cc); gRPC itself is Debian's, not built for TSan, and its
// lock-free hand-offs between threads would read as races, so it is left out here and tested
// over loopback elsewhere.

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/job_manager.h"
#include "coordinator/state_store.h"
#include "gtest/gtest.h"
#include "metrics/metric_registry.h"
#include "tasks/addition_task.h"
#include "tests/test_environment.h"

namespace star {
namespace {

constexpr int kShards = 48;
constexpr int kQuestionsPerShard = 4;
constexpr int kWorkers = 8;

TEST(CoordinatorConcurrencyTest, EveryQuestionIsAcceptedOnceUnderConcurrentLeasesExpiriesAndDuplicates) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(StateStore::PathIn(dir.path()));
  ASSERT_TRUE(store.ok()) << store.status();
  metrics::MetricRegistry registry;
  CoordinatorMetrics metrics(&registry);
  CoordinatorOptions options;
  options.store = store->get();
  options.metrics = &metrics;
  options.lease_timeout = absl::Milliseconds(300);
  options.max_shard_leases = 1000;  // expiries here are deliberate, never a reason to give up
  Coordinator coordinator(options);
  JobManager jobs(&coordinator, dir.path(), PathPolicy::Create({dir.path()}).value());
  metrics.CollectFrom(&coordinator, &jobs);

  AdditionTask task;
  std::map<uint64_t, std::string> reference;
  std::vector<star::v1::Shard> shards;
  uint64_t next_id = 1;
  for (int s = 0; s < kShards; ++s) {
    star::v1::Shard shard;
    shard.set_shard_id(absl::StrCat("job-1-i1-gen-", s));
    shard.set_job_id("job-1");
    shard.set_iteration(1);
    shard.set_kind(star::v1::SHARD_KIND_GENERATE);
    shard.mutable_task()->mutable_addition()->set_max_digits(3);
    shard.mutable_generation()->set_samples_per_question(1);
    for (int q = 0; q < kQuestionsPerShard; ++q, ++next_id) {
      Question question = AdditionTask::MakeQuestion(next_id, 100 + next_id % 900, (7 * next_id) % 1000, 3);
      reference[question.id] = *AdditionTask().ReferenceCompletion(question);
      star::v1::ShardQuestion* sq = shard.add_questions();
      sq->set_question_id(question.id);
      sq->set_prompt(task.Prompt(question));
      sq->set_hinted_prompt(task.HintedPrompt(question));
      sq->set_gold_answer(question.answer);
    }
    shards.push_back(shard);
  }
  ASSERT_TRUE((*store)->AddShards(shards).ok());
  for (star::v1::Shard& shard : shards) ASSERT_TRUE(coordinator.shards().Add(std::move(shard)).ok());

  std::atomic<int> expired_on_purpose = 0, duplicates = 0, completed = 0, errors = 0;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      star::v1::RegisterWorkerRequest reg;
      reg.set_hostname(absl::StrCat("worker-", w));
      absl::StatusOr<star::v1::RegisterWorkerResponse> registered = coordinator.RegisterWorker(reg);
      if (!registered.ok()) {
        ++errors;
        return;
      }
      absl::BitGen gen;
      while (true) {
        star::v1::LeaseShardRequest lease_request;
        lease_request.set_worker_id(registered->worker_id());
        lease_request.set_wait_ms(100);
        absl::StatusOr<star::v1::LeaseShardResponse> lease = coordinator.LeaseShard(lease_request);
        if (!lease.ok()) {
          ++errors;
          return;
        }
        if (lease->lease_id().empty()) {
          if (coordinator.shards().AllDone()) return;
          continue;  // every remaining shard is leased to someone; one may yet expire
        }
        // One lease in six is held past its timeout, so that the shard goes to another worker
        // and this worker's submission arrives late, racing the new holder's. The others are
        // renewed once, as a worker does while it generates.
        if (absl::Bernoulli(gen, 1.0 / 6)) {
          absl::SleepFor(options.lease_timeout + absl::Milliseconds(100));
          ++expired_on_purpose;
        } else {
          star::v1::RenewLeaseRequest renew;
          renew.set_worker_id(registered->worker_id());
          renew.set_lease_id(lease->lease_id());
          // (Refused only if this thread was descheduled past the timeout.)
          absl::Status renewed = coordinator.RenewLease(renew).status();
          if (!renewed.ok() && !absl::IsFailedPrecondition(renewed)) ++errors;
        }
        star::v1::SubmitShardResultRequest submit;
        submit.set_worker_id(registered->worker_id());
        submit.set_lease_id(lease->lease_id());
        submit.set_shard_id(lease->shard().shard_id());
        for (const star::v1::ShardQuestion& q : lease->shard().questions()) {
          star::v1::QuestionResult* r = submit.add_results();
          r->set_question_id(q.question_id());
          r->add_samples()->set_completion(reference.at(q.question_id()));
        }
        // One submission in five is sent twice (a retry after a lost answer).
        const int sends = absl::Bernoulli(gen, 1.0 / 5) ? 2 : 1;
        for (int i = 0; i < sends; ++i) {
          absl::StatusOr<star::v1::SubmitShardResultResponse> submitted =
              coordinator.SubmitShardResult(submit);
          if (!submitted.ok()) {
            // A late submission whose shard went to another worker that has not finished it
            // is refused (its lease expired); anything else is a failure.
            if (!absl::IsFailedPrecondition(submitted.status())) ++errors;
            break;
          }
          if (submitted->duplicate()) {
            ++duplicates;
          } else {
            ++completed;
          }
        }
      }
    });
  }
  // Scrapes and cluster views while the workers run.
  std::atomic<bool> done = false;
  int scrapes = 0;
  std::thread scraper([&] {
    while (!done.load()) {
      std::string page = registry.Render();
      EXPECT_NE(page.find("star_coordinator_shards"), std::string::npos);
      EXPECT_LE(coordinator.GetCluster().workers_size(), kWorkers);
      ++scrapes;
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  for (std::thread& t : workers) t.join();
  done = true;
  scraper.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_TRUE(coordinator.shards().AllDone());
  EXPECT_EQ(completed.load(), kShards) << "every shard completed exactly once";
  EXPECT_GT(expired_on_purpose.load(), 0);
  EXPECT_GT(duplicates.load(), 0);
  EXPECT_GT(scrapes, 0);
  // Every question's rationale is in the store once, and it is the submitted one.
  absl::StatusOr<int64_t> accepted = (*store)->AcceptedCount();
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(*accepted, kShards * kQuestionsPerShard);
  absl::StatusOr<std::vector<AcceptedRationale>> rationales = (*store)->Accepted("job-1", 1);
  ASSERT_TRUE(rationales.ok());
  ASSERT_EQ(rationales->size(), reference.size());
  for (const AcceptedRationale& r : *rationales) {
    EXPECT_EQ(r.completion, reference.at(r.question_id)) << "question " << r.question_id;
  }
}

}  // namespace
}  // namespace star
