// star-worker: leases question shards from the coordinator, generates rationales, verifies
// them and submits the results.

#include <unistd.h>

#include <string>
#include <thread>

#include "files/path_policy.h"
#include "flags/flag_parser.h"
#include "grpcpp/grpcpp.h"
#include "log/log.h"
#include "metrics/build_info.h"
#include "metrics/metric_registry.h"
#include "metrics/metrics_flags.h"
#include "service/backoff.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
#include "service/security_flags.h"
#include "service/shutdown_signal.h"
#include "service/stop_flag.h"
#include "model/text_generator.h"
#include "star/v1/coordinator.grpc.pb.h"
#include "tasks/task_factory.h"
#include "worker/shard_processor.h"
#include "worker/worker_metrics.h"

namespace star {
namespace {

struct WorkerFlags {
  std::string coordinator = "127.0.0.1:50051";
  std::string hostname;
  int64_t batch_size = 16;
  int64_t poll_wait_ms = 2000;
  int64_t threads = 1;
  // From --tls-* (see service/channel_security.h); plaintext by default.
  ClientSecurity security;
  // From --data-root: the only folders a shard's checkpoint may be loaded from.
  std::vector<std::string> data_roots = {"."};
  std::unique_ptr<PathPolicy> paths;
};

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}

// The model of the last checkpoint used, kept while shards keep naming it.
class GeneratorCache {
 public:
  GeneratorCache(WorkerMetrics* metrics, const PathPolicy* paths)
      : metrics_(metrics), paths_(paths) {}

  // The coordinator names the checkpoint; it is loaded only from under this worker's own data
  // roots (a checkpoint_path elsewhere fails the shard, naming the roots).
  absl::StatusOr<TextGenerator*> Get(const std::string& id, const std::string& checkpoint_path) {
    if (generator_ == nullptr || id != id_) {
      generator_.reset();
      absl::StatusOr<std::string> path = paths_->ConfineFolder("checkpoint_path", checkpoint_path);
      if (!path.ok()) return path.status();
      absl::Time start = absl::Now();
      absl::StatusOr<std::unique_ptr<TextGenerator>> loaded = TextGenerator::Load(*path);
      if (!loaded.ok()) return loaded.status();
      metrics_->RecordCheckpointLoad(absl::Now() - start);
      generator_ = std::move(*loaded);
      id_ = id;
      STAR_LOG(INFO) << "loaded checkpoint " << id << " from " << *path;
    }
    return generator_.get();
  }

 private:
  WorkerMetrics* metrics_;
  const PathPolicy* paths_;
  std::string id_;
  std::unique_ptr<TextGenerator> generator_;
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
// the coordinator hands the shard to another worker.
void HandleShard(star::v1::Coordinator::Stub* stub, const std::string& worker_id,
                 const star::v1::LeaseShardResponse& lease, absl::Duration renew_interval,
                 int64_t max_batch, GeneratorCache& cache, WorkerMetrics& metrics) {
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
  auto failed = [&] { metrics.RecordShard(kind, "failed", absl::Now() - start); };
  absl::StatusOr<TextGenerator*> generator = cache.Get(shard.checkpoint_id(), shard.checkpoint_path());
  if (!generator.ok()) {
    STAR_LOG(ERROR) << "shard " << shard.shard_id() << ": " << generator.status().message();
    return failed();
  }
  absl::StatusOr<std::unique_ptr<Task>> task = MakeTask(shard.task());
  if (!task.ok()) {
    STAR_LOG(ERROR) << "shard " << shard.shard_id() << ": " << task.status().message();
    return failed();
  }
  CompletionSource source = [&](const std::vector<std::string>& prompts,
                                const SamplingOptions& options) {
    absl::Time call = absl::Now();
    absl::StatusOr<std::vector<Completion>> out = (*generator)->Generate(prompts, options);
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
  // Submission is idempotent: retry while the coordinator is unreachable.
  Backoff backoff(absl::Milliseconds(200), absl::Seconds(5));
  for (int attempt = 0; attempt < 8; ++attempt) {
    star::v1::SubmitShardResultResponse response;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    grpc::Status status = stub->SubmitShardResult(&context, request, &response);
    if (status.ok()) {
      STAR_LOG(INFO) << "shard " << shard.shard_id() << ": " << shard.questions_size()
                     << " questions, " << outcome->generated_tokens << " tokens in "
                     << request.generate_seconds() << "s; accepted " << response.accepted()
                     << ", rejected " << response.rejected()
                     << (response.duplicate() ? " (already done)" : "");
      metrics.RecordShard(kind, response.duplicate() ? "duplicate" : "submitted",
                          absl::Now() - start);
      metrics.RecordVerdicts(kind, response.accepted(), response.rejected());
      return;
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      STAR_LOG(ERROR) << "shard " << shard.shard_id() << ": submission refused: "
                      << FromGrpcStatus(status).ToString();
      return failed();
    }
    absl::SleepFor(backoff.Next());
  }
  STAR_LOG(ERROR) << "shard " << shard.shard_id() << ": coordinator unreachable; giving up";
  failed();
}

// Registers (retrying with backoff while the coordinator is unreachable), then long-polls for
// shards until stopped. Registers again when the coordinator no longer knows this worker
// (it restarted).
void RunWorker(const WorkerFlags& flags, const StopFlag& stop, WorkerMetrics& metrics) {
  auto stub = star::v1::Coordinator::NewStub(MakeChannel(flags.coordinator, flags.security));
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
  GeneratorCache cache(&metrics, flags.paths.get());
  absl::Duration renew_interval = absl::Seconds(20);
  std::string worker_id;
  while (!stop.stopped()) {
    if (worker_id.empty()) {
      star::v1::RegisterWorkerRequest request;
      request.set_hostname(flags.hostname);
      request.set_batch_size(static_cast<uint32_t>(flags.batch_size));
      star::v1::RegisterWorkerResponse response;
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(absl::Seconds(10)));
      grpc::Status status = stub->RegisterWorker(&context, request, &response);
      if (!status.ok()) {
        STAR_LOG(WARNING) << "cannot register with " << flags.coordinator << ": "
                          << FromGrpcStatus(status).ToString() << "; retrying";
        stop.SleepFor(backoff.Next());
        continue;
      }
      worker_id = response.worker_id();
      if (response.renew_interval_ms() > 0) renew_interval = absl::Milliseconds(response.renew_interval_ms());
      backoff.Reset();
      metrics.SetRegistered(true);
      STAR_LOG(INFO) << "registered with " << flags.coordinator << " as " << worker_id;
    }
    star::v1::LeaseShardRequest request;
    request.set_worker_id(worker_id);
    request.set_wait_ms(static_cast<uint32_t>(flags.poll_wait_ms));
    star::v1::LeaseShardResponse response;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Milliseconds(flags.poll_wait_ms) + absl::Seconds(10)));
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
    if (!response.lease_id().empty()) {
      HandleShard(stub.get(), worker_id, response, renew_interval, flags.batch_size, cache,
                  metrics);
    }
  }
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) {
  star::BlockShutdownSignals();
  star::SetLogProgramName("star-worker");
  star::WorkerFlags worker_flags;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  worker_flags.hostname = host;
  star::FlagParser flags("star-worker",
                         "Runs a STaR worker: leases question shards from the coordinator, "
                         "generates rationales, verifies them and submits the results.");
  flags.AddHostPort("coordinator", &worker_flags.coordinator, "coordinator address HOST:PORT");
  flags.AddString("hostname", &worker_flags.hostname, "name this worker reports");
  flags.AddInt("batch-size", &worker_flags.batch_size,
               "most sequences generated at once (caps the shard's batch size)", 1, 4096);
  flags.AddInt("poll-wait-ms", &worker_flags.poll_wait_ms,
               "how long one lease long-poll waits for a shard", 10, 30000);
  flags.AddInt("threads", &worker_flags.threads,
               "compute threads for generation (1 suits several processes per machine)", 1, 256);
  flags.AddStringList("data-root", &worker_flags.data_roots,
                      "a folder under which the checkpoints shards name may lie; repeatable");
  star::SecurityFlags security_flags;
  star::AddClientSecurityFlags(flags, &security_flags, /*with_token=*/false);
  star::metrics::MetricsFlags metrics_flags;
  star::metrics::AddMetricsFlags(flags, &metrics_flags);
  flags.ParseOrExit(argc, argv);
  absl::StatusOr<star::ClientSecurity> security =
      star::LoadClientSecurity(security_flags.tls, security_flags.auth_token_file);
  if (!security.ok()) {
    STAR_LOG(ERROR) << security.status().message();
    return 1;
  }
  worker_flags.security = std::move(*security);
  absl::StatusOr<star::PathPolicy> paths = star::PathPolicy::Create(worker_flags.data_roots);
  if (!paths.ok()) {
    STAR_LOG(ERROR) << paths.status().message();
    return 1;
  }
  worker_flags.paths = std::make_unique<star::PathPolicy>(*std::move(paths));
  star::SetComputeThreads(static_cast<int>(worker_flags.threads));

  star::metrics::MetricRegistry registry;
  star::metrics::AddBuildInfo(registry, "worker");
  star::WorkerMetrics metrics(&registry);
  absl::StatusOr<std::unique_ptr<star::metrics::MetricsHttpServer>> metrics_server =
      star::metrics::StartMetricsServer(metrics_flags, &registry);
  if (!metrics_server.ok()) {
    STAR_LOG(ERROR) << metrics_server.status().message();
    return 1;
  }

  star::StopFlag stop;
  std::thread loop([&] { star::RunWorker(worker_flags, stop, metrics); });
  int sig = 0;
  while ((sig = star::WaitForShutdownSignal(absl::Hours(1))) == 0) {
  }
  STAR_LOG(INFO) << star::ShutdownSignalName(sig)
                 << " received: finishing the current call (and shard, if one is in progress)";
  stop.Stop();
  loop.join();
  STAR_LOG(INFO) << "stopped";
  return 0;
}
