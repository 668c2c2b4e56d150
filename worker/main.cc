// star-worker: leases question shards from the coordinator, generates rationales, verifies
// them and submits the results.

#include <unistd.h>

#include <optional>
#include <string>
#include <thread>

#include "files/path_policy.h"
#include "flags/flag_parser.h"
#include "grpcpp/grpcpp.h"
#include "log/log.h"
#include "metrics/build_info.h"
#include "metrics/metric_registry.h"
#include "metrics/metrics_flags.h"
#include "model/cuda_devices.h"
#include "model/text_generator.h"
#include "service/backoff.h"
#include "service/client_call.h"
#include "service/daemon.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
#include "service/shutdown_signal.h"
#include "service/stop_flag.h"
#include "star/v1/coordinator.grpc.pb.h"
#include "tasks/task_factory.h"
#include "worker/local_model_backend.h"
#include "worker/shard_processor.h"
#include "worker/worker_metrics.h"

namespace star {
namespace {

struct WorkerFlags {
  DaemonFlags daemon;
  int64_t batch_size = 16;
};

// Renews a lease every `interval` on its own thread until destroyed.
class LeaseRenewer {
 public:
  LeaseRenewer(star::v1::Coordinator::Stub* stub, std::string worker_id, std::string lease_id,
               absl::Duration interval)
      : thread_([=, this] {
          while (!done_.SleepFor(interval)) {
            star::v1::RenewLeaseRequest request;
            request.set_worker_id(worker_id);
            request.set_lease_id(lease_id);
            star::v1::RenewLeaseResponse response;
            grpc::ClientContext context;
            context.set_deadline(DeadlineIn(absl::Seconds(10)));
            grpc::Status status = stub->RenewLease(&context, request, &response);
            if (!status.ok()) {
              STAR_LOG(WARNING) << "renewing " << lease_id << ": " << FromGrpcStatus(status).ToString();
            }
          }
        }) {}
  LeaseRenewer(const LeaseRenewer&) = delete;
  LeaseRenewer& operator=(const LeaseRenewer&) = delete;
  ~LeaseRenewer() {
    done_.Stop();
    thread_.join();
  }

 private:
  StopFlag done_;
  std::thread thread_;
};

// Generates, verifies and submits one shard. Failures are logged; the lease then runs out and
// the coordinator hands the shard to another worker. With `lease_next`, the submission also
// asks for the next shard; returns its lease when the answer carried one.
std::optional<star::v1::LeaseShardResponse> HandleShard(
    star::v1::Coordinator::Stub* stub, const std::string& worker_id,
    const star::v1::LeaseShardResponse& lease, absl::Duration renew_interval, int64_t max_batch,
    bool lease_next, CompletionBackend& backend, WorkerMetrics& metrics) {
  star::v1::Shard shard = lease.shard();
  const star::v1::ShardKind kind = shard.kind();
  // The worker's own limit on rows decoded at once wins over the shard's wish.
  uint32_t wanted = shard.generation().batch_size();
  shard.mutable_generation()->set_batch_size(
      static_cast<uint32_t>(wanted == 0 ? max_batch : std::min<int64_t>(wanted, max_batch)));
  LeaseRenewer renewer(stub, worker_id, lease.lease_id(), renew_interval);
  STAR_LOG(INFO) << "shard " << shard.shard_id() << " leased (" << shard.questions_size()
                 << " questions, lease " << lease.lease_id() << ")";
  absl::Time start = absl::Now();
  auto failed = [&]() -> std::optional<star::v1::LeaseShardResponse> {
    metrics.RecordShard(kind, "failed", absl::Now() - start);
    return std::nullopt;
  };
  absl::StatusOr<Precision> precision = ParsePrecision(shard.compute().precision());
  if (!precision.ok()) {
    STAR_LOG(ERROR) << "shard " << shard.shard_id() << ": compute.precision: "
                    << precision.status().message();
    return failed();
  }
  const ModelRef model{shard.checkpoint_id(), shard.checkpoint_path(), *precision};
  absl::StatusOr<std::unique_ptr<Task>> task = MakeTask(shard.task());
  if (!task.ok()) {
    STAR_LOG(ERROR) << "shard " << shard.shard_id() << ": " << task.status().message();
    return failed();
  }
  CompletionSource source = [&](const std::vector<std::string>& prompts,
                                const SamplingOptions& options) {
    absl::Time call = absl::Now();
    absl::StatusOr<std::vector<Completion>> out = backend.Complete(model, prompts, options);
    if (out.ok()) {
      uint64_t tokens = 0;
      for (const Completion& c : *out) tokens += c.tokens.size();
      metrics.RecordGeneration(kind, absl::Now() - call, tokens);
    }
    return out;
  };
  absl::StatusOr<ShardOutcome> outcome = ProcessShard(shard, **task, shard.rationalize(), source);
  if (!outcome.ok()) {
    STAR_LOG(ERROR) << "shard " << shard.shard_id() << ": " << outcome.status().message();
    return failed();
  }
  star::v1::SubmitShardResultRequest& request = outcome->request;
  request.set_worker_id(worker_id);
  request.set_lease_id(lease.lease_id());
  request.set_generate_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  request.set_lease_next(lease_next);
  // Submission is idempotent: retry while the coordinator is unreachable.
  star::v1::SubmitShardResultResponse response;
  grpc::Status status = CallWithRetry(
      [&](grpc::ClientContext& context) {
        return stub->SubmitShardResult(&context, request, &response);
      },
      RetryPolicy{}, [&](const grpc::Status& failure) {
        STAR_LOG(WARNING) << "shard " << shard.shard_id() << ": submitting: "
                          << FromGrpcStatus(failure).ToString() << "; retrying";
      });
  if (!status.ok()) {
    STAR_LOG(ERROR) << "shard " << shard.shard_id() << ": "
                    << (IsRetryable(status) ? "coordinator unreachable; giving up: "
                                            : "submission refused: ")
                    << FromGrpcStatus(status).ToString();
    return failed();
  }
  STAR_LOG(INFO) << "shard " << shard.shard_id() << ": " << shard.questions_size()
                 << " questions, " << outcome->generated_tokens << " tokens in "
                 << request.generate_seconds() << "s; accepted " << response.accepted()
                 << ", rejected " << response.rejected()
                 << (response.duplicate() ? " (already done)" : "");
  metrics.RecordShard(kind, response.duplicate() ? "duplicate" : "submitted", absl::Now() - start);
  metrics.RecordVerdicts(kind, response.accepted(), response.rejected());
  if (response.next().lease_id().empty()) return std::nullopt;
  return std::move(*response.mutable_next());
}

// Registers (retrying with backoff while the coordinator is unreachable), then long-polls for
// shards until stopped. Registers again when the coordinator no longer knows this worker
// (it restarted).
void RunWorker(const WorkerFlags& flags, const DaemonSetup& setup, CompletionBackend& backend,
               const StopFlag& stop, WorkerMetrics& metrics) {
  auto stub = star::v1::Coordinator::NewStub(MakeChannel(flags.daemon.coordinator, setup.security));
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
  absl::Duration renew_interval = absl::Seconds(20);
  std::string worker_id;
  // A lease that came with the last submission's answer, handled before asking for another.
  std::optional<star::v1::LeaseShardResponse> next;
  while (!stop.stopped()) {
    if (worker_id.empty()) {
      star::v1::RegisterWorkerRequest request;
      request.set_hostname(flags.daemon.hostname);
      request.set_batch_size(static_cast<uint32_t>(flags.batch_size));
      star::v1::RegisterWorkerResponse response;
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(absl::Seconds(10)));
      grpc::Status status = stub->RegisterWorker(&context, request, &response);
      if (!status.ok()) {
        STAR_LOG(WARNING) << "cannot register with " << flags.daemon.coordinator << ": "
                          << FromGrpcStatus(status).ToString() << "; retrying";
        stop.SleepFor(backoff.Next());
        continue;
      }
      worker_id = response.worker_id();
      if (response.renew_interval_ms() > 0) renew_interval = absl::Milliseconds(response.renew_interval_ms());
      backoff.Reset();
      metrics.SetRegistered(true);
      STAR_LOG(INFO) << "registered with " << flags.daemon.coordinator << " as " << worker_id;
    }
    if (next) {
      // The last submission's answer leased the next shard: no LeaseShard call.
      star::v1::LeaseShardResponse lease = *std::move(next);
      STAR_LOG(INFO) << "shard " << lease.shard().shard_id()
                     << " came with the answer to the last submission";
      next = HandleShard(stub.get(), worker_id, lease, renew_interval, flags.batch_size,
                         !stop.stopped(), backend, metrics);
      continue;
    }
    star::v1::LeaseShardRequest request;
    request.set_worker_id(worker_id);
    request.set_wait_ms(static_cast<uint32_t>(flags.daemon.poll_wait_ms));
    star::v1::LeaseShardResponse response;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Milliseconds(flags.daemon.poll_wait_ms) + absl::Seconds(10)));
    grpc::Status status = stub->LeaseShard(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      STAR_LOG(WARNING) << "coordinator does not know " << worker_id << ": registering again";
      metrics.RecordLeaseRequest("error");
      metrics.SetRegistered(false);
      worker_id.clear();
      continue;
    }
    if (!status.ok()) {
      STAR_LOG(WARNING) << "lease failed: " << FromGrpcStatus(status).ToString();
      metrics.RecordLeaseRequest("error");
      stop.SleepFor(backoff.Next());
      continue;
    }
    backoff.Reset();
    metrics.RecordLeaseRequest(response.lease_id().empty() ? "empty" : "leased");
    if (response.lease_id().empty()) {
      backend.Idle();
    } else {
      next = HandleShard(stub.get(), worker_id, response, renew_interval, flags.batch_size,
                         !stop.stopped(), backend, metrics);
    }
  }
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) {
  star::BlockShutdownSignals();
  star::SetLogProgramName("star-worker");
  star::WorkerFlags worker_flags;
  star::FlagParser flags("star-worker",
                         "Runs a STaR worker: leases question shards from the coordinator, "
                         "generates rationales, verifies them and submits the results.");
  star::AddDaemonFlags(
      flags, &worker_flags.daemon,
      star::DaemonHelp{
          .hostname = "name this worker reports",
          .poll_wait = "how long one lease long-poll waits for a shard",
          .threads = "compute threads for generation (1 suits several processes per machine)",
          .device = "where the model generates: cpu, cuda, cuda:N or auto (CUDA when a device "
                    "is visible)",
          .data_root = "a folder under which the checkpoints shards name may lie; repeatable"});
  flags.AddInt("batch-size", &worker_flags.batch_size,
               "most sequences generated at once (caps the shard's batch size)", 1, 4096);
  flags.ParseOrExit(argc, argv);
  absl::StatusOr<star::ComputeDevice> device = star::ResolveComputeDevice(worker_flags.daemon.device);
  if (!device.ok()) flags.ExitWithFlagError("device", device.status().message());
  star::SetComputeThreads(static_cast<int>(worker_flags.daemon.threads));
  STAR_LOG(INFO) << "generating on " << device->ToString() << " (--device "
                 << worker_flags.daemon.device << ")";

  star::metrics::MetricRegistry registry;
  star::metrics::AddBuildInfo(registry, "worker");
  star::WorkerMetrics metrics(&registry);
  absl::StatusOr<star::DaemonSetup> setup = star::SetUpDaemon(worker_flags.daemon, &registry);
  if (!setup.ok()) {
    STAR_LOG(ERROR) << setup.status().message();
    return 1;
  }
  star::LocalModelBackend backend(*device, setup->data_roots.get(), &metrics);
  star::RunUntilShutdownSignal(
      [&](const star::StopFlag& stop) {
        star::RunWorker(worker_flags, *setup, backend, stop, metrics);
      },
      "finishing the current call (and shard, if one is in progress)");
  return 0;
}
