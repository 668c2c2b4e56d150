// star-worker: leases question shards from the coordinator, generates rationales, verifies
// them and submits the results.

#include <unistd.h>

#include <string>
#include <thread>

#include "flags/flag_parser.h"
#include "grpcpp/grpcpp.h"
#include "log/log.h"
#include "service/backoff.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
#include "service/shutdown_signal.h"
#include "service/stop_flag.h"
#include "star/v1/coordinator.grpc.pb.h"

namespace star {
namespace {

struct WorkerFlags {
  std::string coordinator = "127.0.0.1:50051";
  std::string hostname;
  int64_t batch_size = 16;
  int64_t poll_wait_ms = 2000;
};

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}

// Registers (retrying with backoff while the coordinator is unreachable), then long-polls for
// shards until stopped. Registers again when the coordinator no longer knows this worker
// (it restarted).
void RunWorker(const WorkerFlags& flags, const StopFlag& stop) {
  auto stub = star::v1::Coordinator::NewStub(MakeChannel(flags.coordinator));
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
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
      backoff.Reset();
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
      worker_id.clear();
      continue;
    }
    if (!status.ok()) {
      STAR_LOG(WARNING) << "lease failed: " << FromGrpcStatus(status).ToString();
      stop.SleepFor(backoff.Next());
      continue;
    }
    backoff.Reset();
    if (!response.lease_id().empty()) {
      // Shard processing (generation, verification, rationalization) is not part of this
      // build; the lease is left to expire so that the coordinator hands the shard on.
      STAR_LOG(ERROR) << "leased shard " << response.shard().shard_id()
                      << " but this worker cannot process shards; releasing it by expiry";
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
  flags.AddInt("batch-size", &worker_flags.batch_size, "sequences generated at once", 1, 4096);
  flags.AddInt("poll-wait-ms", &worker_flags.poll_wait_ms,
               "how long one lease long-poll waits for a shard", 10, 30000);
  flags.ParseOrExit(argc, argv);

  star::StopFlag stop;
  std::thread loop([&] { star::RunWorker(worker_flags, stop); });
  int sig = 0;
  while ((sig = star::WaitForShutdownSignal(absl::Hours(1))) == 0) {
  }
  STAR_LOG(INFO) << star::ShutdownSignalName(sig) << " received: finishing the current call";
  stop.Stop();
  loop.join();
  STAR_LOG(INFO) << "stopped";
  return 0;
}
