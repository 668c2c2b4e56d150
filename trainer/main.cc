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
#include "model/cuda_devices.h"
#include "service/backoff.h"
#include "service/client_call.h"
#include "service/daemon.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
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
  DaemonFlags daemon;
  std::string trainer_id;
};

// Streams this rank's examples, trains and reports. Failures go into the report, which the
// coordinator uses to re-run the round with the ranks still alive.
void RunRound(star::v1::Training::Stub* stub, const star::v1::RoundAssignment& assignment,
              const PathPolicy& data_roots, const ComputeDevice& device, int listener_fd,
              TrainerMetrics& metrics) {
  absl::Time start = absl::Now();
  metrics.RoundStarted(static_cast<int>(assignment.rank()),
                       static_cast<int>(assignment.world_size()));
  STAR_LOG(INFO) << "round " << assignment.round_id() << ": rank " << assignment.rank() << " of "
                 << assignment.world_size() << ", " << assignment.steps() << " steps, "
                 << assignment.backend() << ", master " << assignment.master_addr() << ":"
                 << assignment.master_port();
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
      assignment, examples, data_roots, device, listener_fd, [&](const StepStats& step) {
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
  // The coordinator takes a rank's second report of a round as a no-op: retrying is safe.
  star::v1::ReportRoundResponse response;
  grpc::Status status = CallWithRetry(
      [&](grpc::ClientContext& context) { return stub->ReportRound(&context, report, &response); },
      RetryPolicy{}, [&](const grpc::Status& failure) {
        STAR_LOG(WARNING) << "cannot report round " << assignment.round_id() << ": "
                          << FromGrpcStatus(failure).ToString() << "; retrying";
      });
  if (!status.ok()) {
    STAR_LOG(WARNING) << "round " << assignment.round_id() << ": report not delivered: "
                      << FromGrpcStatus(status).ToString();
  }
}

// Announces this rank to the coordinator and waits for rounds until stopped, retrying with
// backoff while the coordinator is unreachable.
void RunTrainer(const TrainerFlags& flags, const DaemonSetup& setup, const ComputeDevice& device,
                const StopFlag& stop, TrainerMetrics& metrics) {
  auto stub = star::v1::Training::NewStub(MakeChannel(flags.daemon.coordinator, setup.security));
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
  bool connected = false;
  while (!stop.stopped()) {
    // A port to serve the round's store on, should this rank become rank 0.
    absl::StatusOr<StoreListener> listener = StoreListener::Bind(flags.daemon.hostname);
    if (!listener.ok()) {
      STAR_LOG(ERROR) << "--hostname " << flags.daemon.hostname << ": "
                      << listener.status().message();
      stop.SleepFor(backoff.Next());
      continue;
    }
    star::v1::JoinRoundRequest request;
    request.set_store_port(static_cast<uint32_t>(listener->port()));
    request.set_trainer_id(flags.trainer_id);
    request.set_hostname(flags.daemon.hostname);
    request.set_has_cuda(device.cuda);
    request.set_wait_ms(static_cast<uint32_t>(flags.daemon.poll_wait_ms));
    star::v1::JoinRoundResponse response;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Milliseconds(flags.daemon.poll_wait_ms) + absl::Seconds(10)));
    grpc::Status status = stub->JoinRound(&context, request, &response);
    if (!status.ok()) {
      STAR_LOG(WARNING) << "cannot reach " << flags.daemon.coordinator << ": "
                        << FromGrpcStatus(status).ToString() << "; retrying";
      metrics.RecordJoinRequest("error");
      connected = false;
      stop.SleepFor(backoff.Next());
      continue;
    }
    backoff.Reset();
    if (!connected) {
      STAR_LOG(INFO) << "joined " << flags.daemon.coordinator << " as " << flags.trainer_id;
      connected = true;
    }
    metrics.RecordJoinRequest(response.has_assignment() ? "assigned" : "waited");
    if (response.has_assignment()) {
      RunRound(stub.get(), response.assignment(), *setup.data_roots, device, listener->Release(),
               metrics);
    }
  }
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) {
  star::BlockShutdownSignals();
  star::SetLogProgramName("star-trainer");
  star::TrainerFlags trainer_flags;
  star::FlagParser flags("star-trainer",
                         "Runs one data-parallel STaR trainer rank: joins the training rounds the "
                         "coordinator forms (c10d: NCCL on GPU, Gloo on CPU).");
  star::AddDaemonFlags(
      flags, &trainer_flags.daemon,
      star::DaemonHelp{
          .hostname = "address other ranks reach this one at (rank 0 serves the round's store "
                      "there)",
          .poll_wait = "how long one join long-poll waits for a round",
          .threads = "compute threads (1 suits several processes per machine)",
          .device = "where this rank trains NCCL rounds: cpu, cuda, cuda:N or auto (CUDA when a "
                    "device is visible); a rank on the CPU joins Gloo rounds only",
          .data_root = "a folder under which the models a round reads and writes may lie; "
                       "repeatable"});
  trainer_flags.trainer_id = absl::StrCat(trainer_flags.daemon.hostname, ":", getpid());
  flags.AddString("trainer-id", &trainer_flags.trainer_id, "stable identity of this rank");
  flags.ParseOrExit(argc, argv);
  absl::StatusOr<star::ComputeDevice> device =
      star::ResolveComputeDevice(trainer_flags.daemon.device);
  if (!device.ok()) flags.ExitWithFlagError("device", device.status().message());

  star::SetTrainerThreads(static_cast<int>(trainer_flags.daemon.threads));
  star::ComputeCapabilities caps = star::ProbeComputeCapabilities();
  STAR_LOG(INFO) << "torch " << caps.torch_version << ", c10d backends " << caps.backends
                 << ", CUDA devices " << caps.cuda_devices << "; training on "
                 << device->ToString() << " (--device " << trainer_flags.daemon.device << ")";

  star::metrics::MetricRegistry registry;
  star::metrics::AddBuildInfo(registry, "trainer");
  star::TrainerMetrics metrics(&registry);
  absl::StatusOr<star::DaemonSetup> setup = star::SetUpDaemon(trainer_flags.daemon, &registry);
  if (!setup.ok()) {
    STAR_LOG(ERROR) << setup.status().message();
    return 1;
  }
  star::RunUntilShutdownSignal(
      [&](const star::StopFlag& stop) {
        star::RunTrainer(trainer_flags, *setup, *device, stop, metrics);
      },
      "finishing the current call");
  return 0;
}
