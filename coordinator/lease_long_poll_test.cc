// Workers waiting for a shard cost no server thread: a real coordinator service on loopback,
// whose synchronous server may use at most kServerThreads threads, holds many times that many
// LeaseShard long-polls at once, and answers every one of them when shards arrive.

#include <dirent.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "coordinator/coordinator.h"
#include "coordinator/grpc_services.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/grpc_server.h"
#include "star/v1/coordinator.grpc.pb.h"

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

}  // namespace
}  // namespace star
