#include "coordinator/grpc_services.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"
#include "proto/request_parsing.h"
#include "service/grpc_status.h"

namespace star {
namespace {

// WatchJob repeats an unchanged status this often, so that clients can tell a quiet job from a
// coordinator they no longer hear (jobs.proto).
constexpr absl::Duration kWatchKeepalive = absl::Seconds(5);
// How often a WatchJob call looks at its job's status version.
constexpr absl::Duration kWatchPoll = absl::Milliseconds(200);

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

// Serves one unary call of the callback API: authenticates it, parses the raw request as a
// `Request` and calls `handler(request, finish)`, which must call `finish` exactly once, now or
// later from any thread, with the handler's answer; `finish` serializes it into `response`
// and ends the call. The call, and so `response`, lives until then.
template <typename Request, typename Response, typename Handler>
grpc::ServerUnaryReactor* ServeUnary(const CallAuthenticator* auth,
                                     grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                     Handler&& handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status s = Authenticate(auth, *context); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  Request parsed;
  grpc::ByteBuffer bytes(*request);
  if (grpc::Status s = ParseMessage(&bytes, &parsed); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  handler(parsed, [reactor, response](absl::StatusOr<Response> result) {
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

bool JobEnded(const star::v1::JobStatus& status) {
  return status.state() == star::v1::JOB_STATE_SUCCEEDED ||
         status.state() == star::v1::JOB_STATE_FAILED ||
         status.state() == star::v1::JOB_STATE_CANCELLED;
}

// One WatchJob call: writes the job's status at once, then whenever its version changed (looked
// at every kWatchPoll, on a gRPC timer) or kWatchKeepalive passed, and finishes after writing
// an ended job. At most one operation (a write or a timer) is outstanding, and the call
// finishes from the completion of the last one, so nothing is pending when gRPC deletes the
// reactor. A cancelled call is noticed by the next timer (no timer is cancelled, which would
// race with its own callback). Two timers take turns, so that none is set again from inside
// its own callback.
class WatchJobReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // `runner` null: the call finishes at once with `refusal`. `open` counts the open calls: this
  // one is in it until OnDone.
  WatchJobReactor(JobRunner* runner, const grpc::Status& refusal, std::atomic<int>* open)
      : runner_(runner), open_(open) {
    if (runner_ == nullptr) {
      Finish(refusal);
      return;
    }
    Look();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    if (ended_) return Finish(grpc::Status::OK);
    Wait();
  }

  void OnCancel() override { cancelled_ = true; }

  void OnDone() override {
    --*open_;
    delete this;
  }

 private:
  // Writes the status if it changed (or the keepalive is due), else waits again.
  void Look() {
    auto [status, version] = runner_->WaitForChange(version_, absl::ZeroDuration());
    if (version == version_ && absl::Now() - last_write_ < kWatchKeepalive) return Wait();
    version_ = version;
    ended_ = JobEnded(status);
    last_write_ = absl::Now();
    buffer_.Clear();  // the previous write is done with it
    bool own_buffer = false;
    if (grpc::Status s = grpc::SerializationTraits<grpc::protobuf::MessageLite>::Serialize(
            status, &buffer_, &own_buffer);
        !s.ok()) {
      return Finish(s);
    }
    StartWrite(&buffer_);
  }

  void Wait() {
    grpc::Alarm& alarm = alarms_[next_alarm_];
    next_alarm_ = 1 - next_alarm_;
    alarm.Set(absl::ToChronoTime(absl::Now() + kWatchPoll), [this](bool fired) {
      if (!fired || cancelled_) {
        return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      }
      Look();
    });
  }

  JobRunner* const runner_;
  std::atomic<int>* const open_;
  uint64_t version_ = 0;
  bool ended_ = false;
  absl::Time last_write_ = absl::InfinitePast();
  grpc::ByteBuffer buffer_;
  std::atomic<bool> cancelled_ = false;
  grpc::Alarm alarms_[2];
  int next_alarm_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* CoordinatorGrpcService::RegisterWorker(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return ServeUnary<star::v1::RegisterWorkerRequest, star::v1::RegisterWorkerResponse>(
      auth_, context, request, response, [this](const auto& parsed, auto finish) {
        finish(coordinator_->RegisterWorker(parsed));
      });
}

grpc::ServerUnaryReactor* CoordinatorGrpcService::LeaseShard(grpc::CallbackServerContext* context,
                                                              const grpc::ByteBuffer* request,
                                                              grpc::ByteBuffer* response) {
  // The queue answers every wait within the coordinator's longest long-poll.
  return ServeUnary<star::v1::LeaseShardRequest, star::v1::LeaseShardResponse>(
      auth_, context, request, response, [this](const auto& parsed, auto finish) {
        coordinator_->LeaseShardAsync(parsed, std::move(finish));
      });
}

grpc::ServerUnaryReactor* CoordinatorGrpcService::RenewLease(grpc::CallbackServerContext* context,
                                                              const grpc::ByteBuffer* request,
                                                              grpc::ByteBuffer* response) {
  return ServeUnary<star::v1::RenewLeaseRequest, star::v1::RenewLeaseResponse>(
      auth_, context, request, response, [this](const auto& parsed, auto finish) {
        finish(coordinator_->RenewLease(parsed));
      });
}

grpc::ServerUnaryReactor* CoordinatorGrpcService::SubmitShardResult(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  // The store answers every commit, failed ones included.
  return ServeUnary<star::v1::SubmitShardResultRequest, star::v1::SubmitShardResultResponse>(
      auth_, context, request, response, [this](const auto& parsed, auto finish) {
        coordinator_->SubmitShardResultAsync(parsed, std::move(finish));
      });
}

grpc::ServerUnaryReactor* TrainingGrpcService::JoinRound(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request,
                                                          grpc::ByteBuffer* response) {
  return ServeUnary<star::v1::JoinRoundRequest, star::v1::JoinRoundResponse>(
      auth_, context, request, response, [this](const auto& parsed, auto finish) {
        coordinator_->JoinRoundAsync(parsed, std::move(finish));
      });
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

grpc::ServerWriteReactor<grpc::ByteBuffer>* JobsGrpcService::WatchJob(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  star::v1::GetJobRequest parsed;
  grpc::ByteBuffer bytes(*request);
  grpc::Status status = Authenticate(auth_, *context);
  if (status.ok()) status = ParseMessage(&bytes, &parsed);
  JobRunner* runner = nullptr;
  if (status.ok()) {
    runner = jobs_->Find(parsed.job_id());
    if (runner == nullptr) {
      status = grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "job_id '" + parsed.job_id() + "' is unknown");
    }
  }
  // Every call is counted until its reactor is done, refused ones included.
  if (const int open = ++watchers_; status.ok() && open > max_watchers_) {
    status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat(max_watchers_, " WatchJob calls are open; ask again later"));
    runner = nullptr;
  }
  return new WatchJobReactor(runner, status, &watchers_);
}

grpc::Status JobsGrpcService::GetCluster(
    grpc::ServerContext* context, const star::v1::GetClusterRequest*,
    star::v1::ClusterStatus* response) {
  if (grpc::Status s = Authenticate(auth_, *context); !s.ok()) return s;
  *response = coordinator_->GetCluster();
  return grpc::Status::OK;
}

}  // namespace star
