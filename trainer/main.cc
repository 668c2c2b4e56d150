// star-trainer: one data-parallel trainer rank. Joins training rounds formed by the coordinator.

#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "flags/flag_parser.h"
#include "grpcpp/grpcpp.h"
#include "log/log.h"
#include "service/backoff.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
#include "service/shutdown_signal.h"
#include "service/stop_flag.h"
#include "star/v1/training.grpc.pb.h"
#include "trainer/cuda_probe.h"

namespace star {
namespace {

struct TrainerFlags {
  std::string coordinator = "127.0.0.1:50051";
  std::string trainer_id;
  std::string hostname;
  int64_t poll_wait_ms = 2000;
};

// Announces this rank to the coordinator and waits for rounds until stopped, retrying with
// backoff while the coordinator is unreachable.
void RunTrainer(const TrainerFlags& flags, bool has_cuda, const StopFlag& stop) {
  auto stub = star::v1::Training::NewStub(MakeChannel(flags.coordinator));
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
  bool connected = false;
  while (!stop.stopped()) {
    star::v1::JoinRoundRequest request;
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
      connected = false;
      stop.SleepFor(backoff.Next());
      continue;
    }
    backoff.Reset();
    if (!connected) {
      STAR_LOG(INFO) << "joined " << flags.coordinator << " as " << flags.trainer_id;
      connected = true;
    }
    if (response.has_assignment()) {
      STAR_LOG(ERROR) << "assigned to round " << response.assignment().round_id()
                      << " but this trainer cannot run rounds yet";
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
                  "address other ranks reach this one at");
  flags.AddInt("poll-wait-ms", &trainer_flags.poll_wait_ms,
               "how long one join long-poll waits for a round", 10, 30000);
  flags.ParseOrExit(argc, argv);

  star::ComputeCapabilities caps = star::ProbeComputeCapabilities();
  STAR_LOG(INFO) << "torch " << caps.torch_version << ", c10d backends " << caps.backends
                 << ", CUDA devices " << caps.cuda_devices;

  star::StopFlag stop;
  std::thread loop([&] { star::RunTrainer(trainer_flags, caps.cuda_devices > 0, stop); });
  int sig = 0;
  while ((sig = star::WaitForShutdownSignal(absl::Hours(1))) == 0) {
  }
  STAR_LOG(INFO) << star::ShutdownSignalName(sig) << " received: finishing the current call";
  stop.Stop();
  loop.join();
  STAR_LOG(INFO) << "stopped";
  return 0;
}
