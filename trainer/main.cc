// star-trainer: one data-parallel trainer rank. Joins training rounds formed by the coordinator.

#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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
#include "star/v1/training.grpc.pb.h"
#include "trainer/store_listener.h"
#include "trainer/cuda_probe.h"
#include "trainer/round_runner.h"
#include "trainer/trainer_metrics.h"

namespace star {
namespace {

struct TrainerFlags {
  std::string coordinator = "127.0.0.1:50051";
  std::string trainer_id;
  std::string hostname;
  int64_t poll_wait_ms = 2000;
  int64_t threads = 1;
  // From --tls-* (see service/channel_security.h); plaintext by default.
  ClientSecurity security;
  // From --data-root: the only folders a round's models may be read from and written to.
  std::vector<std::string> data_roots = {"."};
  std::unique_ptr<PathPolicy> paths;
};

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}

// Streams this rank's examples, trains and reports. Failures go into the report, which the
// coordinator uses to re-run the round with the ranks still alive.
void RunRound(star::v1::Training::Stub* stub, const star::v1::RoundAssignment& assignment,
              const PathPolicy& data_roots, int listener_fd, TrainerMetrics& metrics) {
  absl::Time start = absl::Now();
  metrics.RoundStarted(static_cast<int>(assignment.rank()),
                       static_cast<int>(assignment.world_size()));
  STAR_LOG(INFO) << "round " << assignment.round_id() << ": rank " << assignment.rank() << " of "
                 << assignment.world_size() << ", " << assignment.steps() << " steps, master "
                 << assignment.master_addr() << ":" << assignment.master_port();
  std::vector<star::v1::TrainingExample> examples;
  {
    star::v1::StreamExamplesRequest request;
    request.set_round_id(assignment.round_id());
    request.set_rank(assignment.rank());
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Minutes(5)));
    auto reader = stub->StreamExamples(&context, request);
    star::v1::TrainingExample example;
    while (reader->Read(&example)) examples.push_back(example);
    grpc::Status status = reader->Finish();
    if (!status.ok()) {
      STAR_LOG(ERROR) << "round " << assignment.round_id() << ": cannot stream examples: "
                      << FromGrpcStatus(status).ToString();
      if (listener_fd >= 0) ::close(listener_fd);
      metrics.RoundEnded(false, absl::Now() - start);
      return;
    }
  }
  int64_t last_logged = 0;
  // A coordinator that answers a progress report with NOT_FOUND no longer knows the round (it
  // was restarted, and re-runs the round under a new id): the round stops on every rank at the
  // next step instead of training to its end for nothing.
  bool unknown_to_coordinator = false;
  // Progress for the coordinator every two seconds: tokens/s over that window.
  absl::Time window_start = absl::Now();
  int64_t window_tokens = 0;
  star::v1::ReportRoundRequest report = RunAssignedRound(
      assignment, examples, data_roots, listener_fd, [&](const StepStats& step) {
        metrics.RecordStep(step);
        window_tokens += step.tokens;
        const absl::Duration window = absl::Now() - window_start;
        if (window >= absl::Seconds(2) || step.step == assignment.steps()) {
          star::v1::ReportStepRequest progress;
          progress.set_round_id(assignment.round_id());
          progress.set_rank(assignment.rank());
          progress.set_step(static_cast<uint32_t>(step.step));
          progress.set_loss(step.loss);
          progress.set_tokens_per_second(window_tokens / absl::ToDoubleSeconds(window));
          star::v1::ReportStepResponse ignored;
          grpc::ClientContext context;
          context.set_deadline(DeadlineIn(absl::Seconds(1)));
          // Best effort: progress is for display, a lost report changes nothing.
          grpc::Status reported = stub->ReportStep(&context, progress, &ignored);
          if (reported.error_code() == grpc::StatusCode::NOT_FOUND && !unknown_to_coordinator) {
            STAR_LOG(WARNING) << "round " << assignment.round_id()
                              << " is unknown to the coordinator (restarted?): stopping it";
            unknown_to_coordinator = true;
          }
          window_start = absl::Now();
          window_tokens = 0;
        }
        if (step.step == assignment.steps() || step.step - last_logged >= 25) {
          STAR_LOG(INFO) << "round " << assignment.round_id() << ": step " << step.step << "/"
                         << assignment.steps() << " loss " << step.loss;
          last_logged = step.step;
        }
      },
      [&] { return unknown_to_coordinator; });
  metrics.RoundEnded(report.ok(), absl::Now() - start);
  if (report.ok()) {
    STAR_LOG(INFO) << "round " << assignment.round_id() << " done: loss " << report.final_loss()
                   << ", " << report.tokens_per_second() << " tokens/s, all-reduce "
                   << report.allreduce_seconds() << "s of " << report.seconds() << "s";
  } else {
    STAR_LOG(ERROR) << "round " << assignment.round_id() << " failed: " << report.error();
  }
  Backoff backoff(absl::Milliseconds(200), absl::Seconds(5));
  for (int attempt = 0; attempt < 8; ++attempt) {
    star::v1::ReportRoundResponse response;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    grpc::Status status = stub->ReportRound(&context, report, &response);
    if (status.ok()) return;
    STAR_LOG(WARNING) << "cannot report round " << assignment.round_id() << ": "
                      << FromGrpcStatus(status).ToString();
    // Only an unreachable coordinator is worth asking again; one that does not know the round
    // or refuses the report would answer the same.
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return;
    }
    absl::SleepFor(backoff.Next());
  }
}

// Announces this rank to the coordinator and waits for rounds until stopped, retrying with
// backoff while the coordinator is unreachable.
void RunTrainer(const TrainerFlags& flags, bool has_cuda, const StopFlag& stop,
                TrainerMetrics& metrics) {
  auto stub = star::v1::Training::NewStub(MakeChannel(flags.coordinator, flags.security));
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
  bool connected = false;
  while (!stop.stopped()) {
    // A port to serve the round's store on, should this rank become rank 0.
    absl::StatusOr<StoreListener> listener = StoreListener::Bind(flags.hostname);
    if (!listener.ok()) {
      STAR_LOG(ERROR) << "--hostname " << flags.hostname << ": " << listener.status().message();
      stop.SleepFor(backoff.Next());
      continue;
    }
    star::v1::JoinRoundRequest request;
    request.set_store_port(static_cast<uint32_t>(listener->port()));
    request.set_trainer_id(flags.trainer_id);
    request.set_hostname(flags.hostname);
    request.set_has_cuda(has_cuda);
    request.set_wait_ms(static_cast<uint32_t>(flags.poll_wait_ms));
    star::v1::JoinRoundResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoNanoseconds(absl::Milliseconds(flags.poll_wait_ms) +
                                                   absl::Seconds(10)));
    grpc::Status status = stub->JoinRound(&context, request, &response);
    if (!status.ok()) {
      STAR_LOG(WARNING) << "cannot reach " << flags.coordinator << ": "
                        << FromGrpcStatus(status).ToString() << "; retrying";
      metrics.RecordJoinRequest("error");
      connected = false;
      stop.SleepFor(backoff.Next());
      continue;
    }
    backoff.Reset();
    if (!connected) {
      STAR_LOG(INFO) << "joined " << flags.coordinator << " as " << flags.trainer_id;
      connected = true;
    }
    metrics.RecordJoinRequest(response.has_assignment() ? "assigned" : "waited");
    if (response.has_assignment()) {
      RunRound(stub.get(), response.assignment(), *flags.paths, listener->Release(), metrics);
    }
  }
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) {
  star::BlockShutdownSignals();
  star::SetLogProgramName("star-trainer");
  star::TrainerFlags trainer_flags;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  trainer_flags.hostname = host;
  trainer_flags.trainer_id = absl::StrCat(host, ":", getpid());
  star::FlagParser flags("star-trainer",
                         "Runs one data-parallel STaR trainer rank: joins the training rounds the "
                         "coordinator forms (c10d: NCCL on GPU, Gloo on CPU).");
  flags.AddHostPort("coordinator", &trainer_flags.coordinator, "coordinator address HOST:PORT");
  flags.AddString("trainer-id", &trainer_flags.trainer_id, "stable identity of this rank");
  flags.AddString("hostname", &trainer_flags.hostname,
                  "address other ranks reach this one at (rank 0 serves the round's store there)");
  flags.AddInt("threads", &trainer_flags.threads,
               "compute threads (1 suits several processes per machine)", 1, 256);
  flags.AddInt("poll-wait-ms", &trainer_flags.poll_wait_ms,
               "how long one join long-poll waits for a round", 10, 30000);
  flags.AddStringList("data-root", &trainer_flags.data_roots,
                      "a folder under which the models a round reads and writes may lie; "
                      "repeatable");
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
  trainer_flags.security = std::move(*security);
  absl::StatusOr<star::PathPolicy> paths = star::PathPolicy::Create(trainer_flags.data_roots);
  if (!paths.ok()) {
    STAR_LOG(ERROR) << paths.status().message();
    return 1;
  }
  trainer_flags.paths = std::make_unique<star::PathPolicy>(*std::move(paths));

  star::SetTrainerThreads(static_cast<int>(trainer_flags.threads));
  star::ComputeCapabilities caps = star::ProbeComputeCapabilities();
  STAR_LOG(INFO) << "torch " << caps.torch_version << ", c10d backends " << caps.backends
                 << ", CUDA devices " << caps.cuda_devices;

  star::metrics::MetricRegistry registry;
  star::metrics::AddBuildInfo(registry, "trainer");
  star::TrainerMetrics metrics(&registry);
  absl::StatusOr<std::unique_ptr<star::metrics::MetricsHttpServer>> metrics_server =
      star::metrics::StartMetricsServer(metrics_flags, &registry);
  if (!metrics_server.ok()) {
    STAR_LOG(ERROR) << metrics_server.status().message();
    return 1;
  }

  star::StopFlag stop;
  std::thread loop([&] { star::RunTrainer(trainer_flags, caps.cuda_devices > 0, stop, metrics); });
  int sig = 0;
  while ((sig = star::WaitForShutdownSignal(absl::Hours(1))) == 0) {
  }
  STAR_LOG(INFO) << star::ShutdownSignalName(sig) << " received: finishing the current call";
  stop.Stop();
  loop.join();
  STAR_LOG(INFO) << "stopped";
  return 0;
}
