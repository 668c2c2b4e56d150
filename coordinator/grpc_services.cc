#include "coordinator/grpc_services.h"

#include "absl/time/time.h"
#include "service/grpc_status.h"

namespace star {
namespace {

// WatchJob repeats an unchanged status this often, so that clients can tell a quiet job from a
// coordinator they no longer hear (jobs.proto).
constexpr absl::Duration kWatchKeepalive = absl::Seconds(5);

// Runs `handler` and moves its value into `response`.
template <typename Response, typename Handler>
grpc::Status Serve(Response* response, Handler&& handler) {
  absl::StatusOr<Response> result = handler();
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status Authenticate(const CallAuthenticator* auth, const grpc::ServerContextBase& context) {
  return auth == nullptr ? grpc::Status::OK : auth->Check(context);
}

}  // namespace

grpc::Status CoordinatorGrpcService::RegisterWorker(grpc::ServerContext* context,
                                                    const star::v1::RegisterWorkerRequest* request,
                                                    star::v1::RegisterWorkerResponse* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  return Serve(response, [&] { return coordinator_->RegisterWorker(*request); });
}

grpc::ServerUnaryReactor* CoordinatorGrpcService::LeaseShard(grpc::CallbackServerContext* context,
                                                              const grpc::ByteBuffer* request,
                                                              grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  star::v1::LeaseShardRequest parsed;
  grpc::ByteBuffer bytes(*request);
  if (grpc::Status s = ParseMessage(&bytes, &parsed); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  // The call, and so `response`, lives until Finish(); the queue answers every wait within
  // the coordinator's longest long-poll, so Finish() always comes.
  coordinator_->LeaseShardAsync(
      parsed, [reactor, response](absl::StatusOr<star::v1::LeaseShardResponse> result) {
        if (!result.ok()) {
          reactor->Finish(ToGrpcStatus(result.status()));
          return;
        }
        bool own_buffer = false;
        reactor->Finish(grpc::SerializationTraits<grpc::protobuf::MessageLite>::Serialize(
            *result, response, &own_buffer));
      });
  return reactor;
}

grpc::Status CoordinatorGrpcService::RenewLease(grpc::ServerContext* context,
                                                const star::v1::RenewLeaseRequest* request,
                                                star::v1::RenewLeaseResponse* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  return Serve(response, [&] { return coordinator_->RenewLease(*request); });
}

grpc::Status CoordinatorGrpcService::SubmitShardResult(
    grpc::ServerContext* context, const star::v1::SubmitShardResultRequest* request,
    star::v1::SubmitShardResultResponse* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  return Serve(response, [&] { return coordinator_->SubmitShardResult(*request); });
}

grpc::Status TrainingGrpcService::JoinRound(grpc::ServerContext* context,
                                            const star::v1::JoinRoundRequest* request,
                                            star::v1::JoinRoundResponse* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  return Serve(response, [&] { return coordinator_->JoinRound(*request); });
}

grpc::Status TrainingGrpcService::StreamExamples(
    grpc::ServerContext* context, const star::v1::StreamExamplesRequest* request,
    grpc::ServerWriter<star::v1::TrainingExample>* writer) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  absl::StatusOr<std::vector<star::v1::TrainingExample>> examples =
      coordinator_->RoundExamples(*request);
  if (!examples.ok()) return ToGrpcStatus(examples.status());
  for (const star::v1::TrainingExample& e : *examples) {
    if (context->IsCancelled() || !writer->Write(e)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    }
  }
  return grpc::Status::OK;
}

grpc::Status TrainingGrpcService::ReportStep(grpc::ServerContext* context,
                                             const star::v1::ReportStepRequest* request,
                                             star::v1::ReportStepResponse*) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  return ToGrpcStatus(coordinator_->ReportStep(*request));
}

grpc::Status TrainingGrpcService::ReportRound(grpc::ServerContext* context,
                                              const star::v1::ReportRoundRequest* request,
                                              star::v1::ReportRoundResponse*) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  return ToGrpcStatus(coordinator_->ReportRound(*request));
}

grpc::Status JobsGrpcService::SubmitJob(
    grpc::ServerContext* context, const star::v1::SubmitJobRequest* request,
    star::v1::SubmitJobResponse* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  absl::StatusOr<std::string> id = jobs_->Submit(request->spec());
  if (!id.ok()) return ToGrpcStatus(id.status());
  response->set_job_id(*id);
  return grpc::Status::OK;
}

grpc::Status JobsGrpcService::GetJob(
    grpc::ServerContext* context, const star::v1::GetJobRequest* request,
    star::v1::JobStatus* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  return Serve(response, [&] { return jobs_->Get(request->job_id()); });
}

grpc::Status JobsGrpcService::ListJobs(
    grpc::ServerContext* context, const star::v1::ListJobsRequest*,
    star::v1::ListJobsResponse* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  for (star::v1::JobStatus& s : jobs_->List()) *response->add_jobs() = std::move(s);
  return grpc::Status::OK;
}

grpc::Status JobsGrpcService::CancelJob(
    grpc::ServerContext* context, const star::v1::CancelJobRequest* request,
    star::v1::JobStatus* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  return Serve(response, [&] { return jobs_->Cancel(request->job_id()); });
}

grpc::Status JobsGrpcService::WatchJob(grpc::ServerContext* context,
                                       const star::v1::GetJobRequest* request,
                                       grpc::ServerWriter<star::v1::JobStatus>* writer) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  JobRunner* runner = jobs_->Find(request->job_id());
  if (runner == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "job_id '" + request->job_id() + "' is unknown");
  }
  uint64_t version = 0;
  absl::Time last_write = absl::InfinitePast();
  while (!context->IsCancelled()) {
    auto [status, seen] = runner->WaitForChange(version, absl::Seconds(1));
    if (seen == version && absl::Now() - last_write < kWatchKeepalive) continue;
    version = seen;
    if (!writer->Write(status)) break;
    last_write = absl::Now();
    if (status.state() == star::v1::JOB_STATE_SUCCEEDED ||
        status.state() == star::v1::JOB_STATE_FAILED ||
        status.state() == star::v1::JOB_STATE_CANCELLED) {
      break;
    }
  }
  return grpc::Status::OK;
}

grpc::Status JobsGrpcService::GetCluster(
    grpc::ServerContext* context, const star::v1::GetClusterRequest*,
    star::v1::ClusterStatus* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  *response = coordinator_->GetCluster();
  return grpc::Status::OK;
}

}  // namespace star
