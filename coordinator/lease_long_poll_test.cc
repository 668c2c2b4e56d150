// Waiting clients cost no server thread: real coordinator services on loopback, whose
// synchronous server may use at most kServerThreads threads, hold many times that many
// long-polls at once (LeaseShard, JoinRound, WatchJob) and answer every one of them when what
// they wait for arrives.

#include <dirent.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/grpc_services.h"
#include "coordinator/job_manager.h"
#include "files/path_policy.h"
#include "grpcpp/grpcpp.h"
#include "metrics/metric_registry.h"
#include "gtest/gtest.h"
#include "service/grpc_server.h"
#include "star/v1/coordinator.grpc.pb.h"
#include "star/v1/jobs.grpc.pb.h"
#include "star/v1/training.grpc.pb.h"
#include "tests/small_job.h"
#include "tests/test_environment.h"

namespace star {
namespace {

constexpr int kServerThreads = 16;
constexpr int kWaiters = 400;

int ThreadsOfThisProcess() {
  int threads = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* entry = ::readdir(dir)) threads += entry->d_name[0] != '.';
    ::closedir(dir);
  }
  return threads;
}

star::v1::Shard MakeShard(int i) {
  star::v1::Shard shard;
  shard.set_shard_id(absl::StrCat("s", i));
  shard.set_job_id("job");
  shard.set_iteration(1);
  shard.set_kind(star::v1::SHARD_KIND_GENERATE);
  return shard;
}

TEST(LeaseLongPollTest, ManyMoreWaitingLeasesThanServerThreadsAreHeldAndAnswered) {
  Coordinator coordinator{CoordinatorOptions{}};
  CoordinatorGrpcService service(&coordinator);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start("127.0.0.1:0", {{star::v1::Coordinator::service_full_name(), &service}},
                        nullptr, kServerThreads);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = star::v1::Coordinator::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));

  std::vector<std::string> workers;
  for (int i = 0; i < kWaiters; ++i) {
    star::v1::RegisterWorkerRequest request;
    request.set_hostname(absl::StrCat("w", i));
    absl::StatusOr<star::v1::RegisterWorkerResponse> registered = coordinator.RegisterWorker(request);
    ASSERT_TRUE(registered.ok()) << registered.status();
    workers.push_back(registered->worker_id());
  }
  const int threads_before = ThreadsOfThisProcess();

  // Every worker long-polls (20 s) for a shard that does not exist yet.
  struct Call {
    grpc::ClientContext context;
    star::v1::LeaseShardResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<star::v1::LeaseShardResponse>> reader;
  };
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kWaiters; ++i) {
    auto call = std::make_unique<Call>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    star::v1::LeaseShardRequest request;
    request.set_worker_id(workers[i]);
    request.set_wait_ms(20000);
    call->reader = stub->PrepareAsyncLeaseShard(&call->context, request, &cq);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call.get());
    calls.push_back(std::move(call));
  }
  // All of them wait in the coordinator at once: 25 times the server's threads.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (coordinator.shards().LeaseWaiters() < static_cast<size_t>(kWaiters) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(coordinator.shards().LeaseWaiters(), static_cast<size_t>(kWaiters));
  // Waiting costs no thread per call: a thread per waiting call would be 400 more; gRPC keeps a
  // pool of its own whose size does not follow the number of calls.
  EXPECT_LT(ThreadsOfThisProcess() - threads_before, 100);

  // Shards arrive: every waiter gets one, each a different one.
  for (int i = 0; i < kWaiters; ++i) ASSERT_TRUE(coordinator.shards().Add(MakeShard(i)).ok());
  std::set<std::string> leased;
  for (int i = 0; i < kWaiters; ++i) {
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    ASSERT_TRUE(ok);
    Call* call = static_cast<Call*>(tag);
    ASSERT_TRUE(call->status.ok()) << call->status.error_message();
    EXPECT_FALSE(call->response.lease_id().empty());
    leased.insert(call->response.shard().shard_id());
  }
  EXPECT_EQ(leased.size(), static_cast<size_t>(kWaiters));
  EXPECT_EQ(coordinator.shards().LeaseWaiters(), 0u);
  (*server)->Shutdown(absl::Seconds(1));
  cq.Shutdown();
}

TEST(LeaseLongPollTest, AWaitThatRunsOutIsAnsweredEmptyAndASecondWaitReplacesTheFirst) {
  Coordinator coordinator{CoordinatorOptions{}};
  star::v1::RegisterWorkerRequest request;
  request.set_hostname("w");
  absl::StatusOr<star::v1::RegisterWorkerResponse> registered = coordinator.RegisterWorker(request);
  ASSERT_TRUE(registered.ok());
  star::v1::LeaseShardRequest lease;
  lease.set_worker_id(registered->worker_id());
  lease.set_wait_ms(60000);
  absl::Notification first_done;
  absl::StatusOr<star::v1::LeaseShardResponse> first;
  coordinator.LeaseShardAsync(lease, [&](absl::StatusOr<star::v1::LeaseShardResponse> r) {
    first = std::move(r);
    first_done.Notify();
  });
  EXPECT_FALSE(first_done.HasBeenNotified());
  // The same worker asks again (it gave up on its call): the first wait is answered, empty.
  lease.set_wait_ms(100);
  const absl::Time start = absl::Now();
  absl::Notification second_done;
  absl::StatusOr<star::v1::LeaseShardResponse> second;
  coordinator.LeaseShardAsync(lease, [&](absl::StatusOr<star::v1::LeaseShardResponse> r) {
    second = std::move(r);
    second_done.Notify();
  });
  ASSERT_TRUE(first_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->lease_id().empty());
  // The second runs out after its 100 ms.
  ASSERT_TRUE(second_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->lease_id().empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(90));
  // An unknown worker is refused at once.
  lease.set_worker_id("w-nobody");
  absl::StatusOr<star::v1::LeaseShardResponse> unknown;
  coordinator.LeaseShardAsync(lease, [&](absl::StatusOr<star::v1::LeaseShardResponse> r) {
    unknown = std::move(r);
  });
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST(LongPollTest, ManyMoreWaitingRanksAndWatchersThanServerThreadsAreHeldAndAnswered) {
  constexpr int kRanks = 300;
  constexpr int kWatchers = 100;
  testing::TempDir dir;
  Coordinator coordinator{CoordinatorOptions{}};
  JobManager jobs(&coordinator, dir.path(), PathPolicy::Create({dir.path()}).value());
  TrainingGrpcService training(&coordinator);
  JobsGrpcService jobs_service(&coordinator, &jobs);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start("127.0.0.1:0",
                        {{star::v1::Training::service_full_name(), &training},
                         {star::v1::Jobs::service_full_name(), &jobs_service}},
                        nullptr, kServerThreads);
  ASSERT_TRUE(server.ok()) << server.status();
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  auto training_stub = star::v1::Training::NewStub(channel);
  auto jobs_stub = star::v1::Jobs::NewStub(channel);
  // With no worker, the job waits forever: something to watch.
  absl::StatusOr<std::string> job = jobs.Submit(testing::SmallAdditionJob(dir, "watched"));
  ASSERT_TRUE(job.ok()) << job.status();
  metrics::MetricRegistry registry;
  CoordinatorMetrics metrics(&registry);
  metrics.CollectFrom(&coordinator, &jobs, &jobs_service);
  const int threads_before = ThreadsOfThisProcess();

  // kRanks trainer ranks wait (20 s) for a round that does not exist yet.
  struct Join {
    grpc::ClientContext context;
    star::v1::JoinRoundResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<star::v1::JoinRoundResponse>> reader;
  };
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Join>> joins;
  for (int i = 0; i < kRanks; ++i) {
    auto join = std::make_unique<Join>();
    join->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    star::v1::JoinRoundRequest request;
    request.set_trainer_id(absl::StrCat("t", 1000 + i));
    request.set_hostname("127.0.0.1");
    request.set_store_port(20000);
    request.set_wait_ms(20000);
    join->reader = training_stub->PrepareAsyncJoinRound(&join->context, request, &cq);
    join->reader->StartCall();
    join->reader->Finish(&join->response, &join->status, join.get());
    joins.push_back(std::move(join));
  }
  // kWatchers clients watch the job, each on its own thread reading the stream.
  std::vector<std::unique_ptr<grpc::ClientContext>> watch_contexts;
  std::vector<star::v1::JobStatus> last(kWatchers);
  std::vector<int> reads(kWatchers, 0);
  std::vector<grpc::Status> watch_status(kWatchers);
  std::vector<std::thread> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    watch_contexts.push_back(std::make_unique<grpc::ClientContext>());
    watch_contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  }
  const int threads_with_watchers = ThreadsOfThisProcess() + kWatchers;
  for (int i = 0; i < kWatchers; ++i) {
    watchers.emplace_back([&, i] {
      star::v1::GetJobRequest request;
      request.set_job_id(*job);
      auto reader = jobs_stub->WatchJob(watch_contexts[i].get(), request);
      star::v1::JobStatus status;
      while (reader->Read(&status)) {
        last[i] = status;
        ++reads[i];
      }
      watch_status[i] = reader->Finish();
    });
  }
  // Every rank waits in the round scheduler and every watcher has its first status.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (coordinator.GetCluster().trainers_size() < kRanks && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(coordinator.GetCluster().trainers_size(), kRanks);
  absl::SleepFor(absl::Seconds(1));
  // No thread per waiting call: that would be 400 more (the watchers' own client threads are
  // counted out).
  EXPECT_LT(ThreadsOfThisProcess() - threads_with_watchers, 100)
      << "threads before the calls " << threads_before;
  // The scrape counts them.
  const std::string page = registry.Render();
  EXPECT_NE(page.find(absl::StrCat("\nstar_coordinator_waiting_calls{call=\"join_round\"} ", kRanks,
                                   "\n")),
            std::string::npos)
      << page;
  EXPECT_NE(page.find(absl::StrCat("\nstar_coordinator_waiting_calls{call=\"watch_job\"} ",
                                   kWatchers, "\n")),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("\nstar_coordinator_waiting_calls{call=\"lease_shard\"} 0\n"),
            std::string::npos)
      << page;

  // A round for every waiting rank forms: each gets its own rank.
  RoundPlan plan;
  plan.assignment.set_round_id("wide");
  plan.assignment.set_world_size(kRanks);
  plan.assignment.set_steps(1);
  for (uint64_t i = 0; i < kRanks; ++i) plan.examples.emplace_back().set_example_id(i);
  ASSERT_TRUE(coordinator.rounds().Submit(std::move(plan)).ok());
  std::set<uint32_t> ranks;
  for (int i = 0; i < kRanks; ++i) {
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    ASSERT_TRUE(ok);
    Join* join = static_cast<Join*>(tag);
    ASSERT_TRUE(join->status.ok()) << join->status.error_message();
    ASSERT_TRUE(join->response.has_assignment());
    EXPECT_EQ(join->response.assignment().round_id(), "wide");
    ranks.insert(join->response.assignment().rank());
  }
  EXPECT_EQ(ranks.size(), static_cast<size_t>(kRanks));

  // The job is cancelled: every watcher sees it end and its stream close.
  ASSERT_TRUE(jobs.Cancel(*job).ok());
  for (std::thread& t : watchers) t.join();
  for (int i = 0; i < kWatchers; ++i) {
    EXPECT_TRUE(watch_status[i].ok()) << i << ": " << watch_status[i].error_message();
    EXPECT_GE(reads[i], 2) << i;  // the first status and the end
    EXPECT_EQ(last[i].state(), star::v1::JOB_STATE_CANCELLED) << i;
  }
  (*server)->Shutdown(absl::Seconds(1));
  cq.Shutdown();
}

TEST(LongPollTest, AWatcherThatGoesAwayEndsItsCallAndWatchersAreBounded) {
  testing::TempDir dir;
  Coordinator coordinator{CoordinatorOptions{}};
  JobManager jobs(&coordinator, dir.path(), PathPolicy::Create({dir.path()}).value());
  JobsGrpcService jobs_service(&coordinator, &jobs, nullptr, /*max_watchers=*/2);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start("127.0.0.1:0", {{star::v1::Jobs::service_full_name(), &jobs_service}});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = star::v1::Jobs::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));
  absl::StatusOr<std::string> job = jobs.Submit(testing::SmallAdditionJob(dir, "watched"));
  ASSERT_TRUE(job.ok()) << job.status();
  {
    grpc::ClientContext context;
    star::v1::GetJobRequest request;
    request.set_job_id(*job);
    auto reader = stub->WatchJob(&context, request);
    star::v1::JobStatus status;
    ASSERT_TRUE(reader->Read(&status));
    EXPECT_EQ(status.job_id(), *job);
    context.TryCancel();
    while (reader->Read(&status)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // Two watchers at once are allowed, a third is refused; once one leaves, another may come.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (jobs_service.open_watchers() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(jobs_service.open_watchers(), 0);
  {
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::unique_ptr<grpc::ClientReader<star::v1::JobStatus>>> readers;
    star::v1::GetJobRequest request;
    request.set_job_id(*job);
    star::v1::JobStatus status;
    for (int i = 0; i < 3; ++i) {
      contexts.push_back(std::make_unique<grpc::ClientContext>());
      readers.push_back(stub->WatchJob(contexts.back().get(), request));
    }
    EXPECT_TRUE(readers[0]->Read(&status));
    EXPECT_TRUE(readers[1]->Read(&status));
    EXPECT_FALSE(readers[2]->Read(&status));
    grpc::Status third = readers[2]->Finish();
    EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << third.error_message();
    contexts[0]->TryCancel();
    while (readers[0]->Read(&status)) {
    }
    EXPECT_EQ(readers[0]->Finish().error_code(), grpc::StatusCode::CANCELLED);
    // Once the server is done with the cancelled and the refused calls, a new watcher gets in.
    while (jobs_service.open_watchers() > 1 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_EQ(jobs_service.open_watchers(), 1);
    grpc::ClientContext context;
    auto reader = stub->WatchJob(&context, request);
    EXPECT_TRUE(reader->Read(&status));
    context.TryCancel();
    while (reader->Read(&status)) {
    }
    reader->Finish();
    contexts[1]->TryCancel();
    while (readers[1]->Read(&status)) {
    }
    readers[1]->Finish();
  }
  // An unknown job is refused at once, naming it.
  grpc::ClientContext context;
  star::v1::GetJobRequest request;
  request.set_job_id("no-such-job");
  auto reader = stub->WatchJob(&context, request);
  star::v1::JobStatus status;
  EXPECT_FALSE(reader->Read(&status));
  grpc::Status refused = reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(refused.error_message().find("no-such-job"), std::string::npos);
  ASSERT_TRUE(jobs.Cancel(*job).ok());
  // The server shuts down with no call left open (a reactor still waiting would hold it).
  const absl::Time start = absl::Now();
  (*server)->Shutdown(absl::Seconds(5));
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
}

}  // namespace
}  // namespace star
