#ifndef STAR_COORDINATOR_GRPC_SERVICES_H_
#define STAR_COORDINATOR_GRPC_SERVICES_H_

// Thin gRPC adapters: each RPC converts its request, calls the Coordinator handler and maps
// the absl::Status onto the gRPC status one-to-one. Calls not yet served by the coordinator
// answer UNIMPLEMENTED (the generated default).

#include <atomic>

#include "coordinator/coordinator.h"
#include "coordinator/job_manager.h"
#include "service/channel_security.h"
#include "star/v1/coordinator.grpc.pb.h"
#include "star/v1/jobs.grpc.pb.h"
#include "star/v1/training.grpc.pb.h"

namespace star {

// Every call is served with gRPC's callback API, so that no call holds a server thread while
// it waits: a worker waiting for a shard is a queue entry (ShardQueue::LeaseAsync), a
// submission waiting for its durable commit is an entry of the store's group commit
// (StateStore::CompleteShardAsync), and the short calls run on gRPC's callback threads. The
// methods take the raw request bytes and parse them with the project's parser
// (proto/request_parsing.h), because gRPC 1.51 answers a callback request that does not parse
// with UNIMPLEMENTED rather than the parser's INVALID_ARGUMENT.
class CoordinatorGrpcService final
    : public star::v1::Coordinator::WithRawCallbackMethod_RegisterWorker<
          star::v1::Coordinator::WithRawCallbackMethod_LeaseShard<
              star::v1::Coordinator::WithRawCallbackMethod_RenewLease<
                  star::v1::Coordinator::WithRawCallbackMethod_SubmitShardResult<
                      star::v1::Coordinator::Service>>>> {
 public:
  // Both must outlive the service. Every call is first checked by `auth` (null: none); a call
  // it refuses answers UNAUTHENTICATED and does not reach the coordinator.
  explicit CoordinatorGrpcService(Coordinator* coordinator,
                                  const CallAuthenticator* auth = nullptr)
      : coordinator_(coordinator), auth_(auth) {}

  grpc::ServerUnaryReactor* RegisterWorker(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* LeaseShard(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RenewLease(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* SubmitShardResult(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;

 private:
  Coordinator* coordinator_;
  const CallAuthenticator* auth_;
};

// JoinRound is a callback method (a rank waiting for its round is an entry of the round
// scheduler, RoundScheduler::JoinAsync, not a server thread); the other calls are short.
class TrainingGrpcService final
    : public star::v1::Training::WithRawCallbackMethod_JoinRound<star::v1::Training::Service> {
 public:
  // As CoordinatorGrpcService.
  explicit TrainingGrpcService(Coordinator* coordinator, const CallAuthenticator* auth = nullptr)
      : coordinator_(coordinator), auth_(auth) {}

  grpc::ServerUnaryReactor* JoinRound(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::Status StreamExamples(grpc::ServerContext* context,
                              const star::v1::StreamExamplesRequest* request,
                              grpc::ServerWriter<star::v1::TrainingExample>* writer) override;
  grpc::Status ReportRound(grpc::ServerContext* context, const star::v1::ReportRoundRequest* request,
                           star::v1::ReportRoundResponse* response) override;
  grpc::Status ReportStep(grpc::ServerContext* context, const star::v1::ReportStepRequest* request,
                          star::v1::ReportStepResponse* response) override;

 private:
  Coordinator* coordinator_;
  const CallAuthenticator* auth_;
};

// WatchJob is a callback method: a watcher is a reactor that looks at the job's status version
// on a timer and writes when it changed, not a server thread. At most `max_watchers` watch at
// once; one more answers RESOURCE_EXHAUSTED.
class JobsGrpcService final
    : public star::v1::Jobs::WithRawCallbackMethod_WatchJob<star::v1::Jobs::Service> {
 public:
  static constexpr int kMaxWatchers = 1000;
  // All must outlive the service. Every call is first checked by `auth` (null: none); a call
  // it refuses answers UNAUTHENTICATED and reaches neither the coordinator nor the jobs.
  JobsGrpcService(Coordinator* coordinator, JobManager* jobs,
                  const CallAuthenticator* auth = nullptr, int max_watchers = kMaxWatchers)
      : coordinator_(coordinator), jobs_(jobs), auth_(auth), max_watchers_(max_watchers) {}

  grpc::Status SubmitJob(grpc::ServerContext* context, const star::v1::SubmitJobRequest* request,
                         star::v1::SubmitJobResponse* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const star::v1::GetJobRequest* request,
                      star::v1::JobStatus* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const star::v1::ListJobsRequest* request,
                        star::v1::ListJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const star::v1::CancelJobRequest* request,
                         star::v1::JobStatus* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchJob(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request) override;
  // WatchJob calls not done yet. A call a client cancelled is done once its watcher next looks
  // at the job (within 200 ms).
  int open_watchers() const { return watchers_.load(); }
  grpc::Status GetCluster(grpc::ServerContext* context, const star::v1::GetClusterRequest* request,
                          star::v1::ClusterStatus* response) override;

 private:
  Coordinator* coordinator_;
  JobManager* jobs_;
  const CallAuthenticator* auth_;
  const int max_watchers_;
  // WatchJob calls open now.
  std::atomic<int> watchers_ = 0;
};

}  // namespace star

#endif  // STAR_COORDINATOR_GRPC_SERVICES_H_
