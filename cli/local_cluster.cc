#include "cli/local_cluster.h"

#include <unistd.h>

#include <climits>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "grpcpp/grpcpp.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
#include "star/v1/jobs.grpc.pb.h"

namespace star {
namespace {

// Reads the port the coordinator wrote, waiting for the file to appear.
absl::StatusOr<int> WaitForPortFile(const std::string& path, ChildProcess& process,
                                    absl::Time deadline) {
  absl::Duration pause = absl::Milliseconds(5);
  while (absl::Now() < deadline) {
    std::ifstream in(path);
    std::string text;
    int port = 0;
    if (in && std::getline(in, text) && absl::SimpleAtoi(text, &port) && port > 0) return port;
    if (std::optional<int> status = process.Poll()) {
      return absl::InternalError(absl::StrCat(process.name(), " exited with status ", *status,
                                              " before serving"));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("no port in ", path, " before the deadline"));
}

}  // namespace

std::string ExecutableDirectory() {
  char path[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return ".";
  return std::filesystem::path(std::string(path, n)).parent_path().string();
}

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    const LocalClusterOptions& options) {
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  cluster->options_ = options;
  absl::Time deadline = absl::Now() + options.start_timeout;
  std::error_code ec;
  std::filesystem::create_directories(options.state_dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create ", options.state_dir, ": ", ec.message()));
  }
  const std::string log_dir = options.state_dir;
  const std::string port_file = absl::StrCat(options.state_dir, "/coordinator.port");
  std::filesystem::remove(port_file, ec);

  // Every process reads and writes models under the same roots: the state directory (where the
  // job's models are) and the folders the job's files come from.
  std::vector<std::string> root_flags = {"--data-root", options.state_dir};
  for (const std::string& root :
       options.data_roots.empty() ? std::vector<std::string>{"."} : options.data_roots) {
    root_flags.insert(root_flags.end(), {"--data-root", root});
  }
  const std::string coordinator_log = absl::StrCat(log_dir, "/coordinator.log");
  std::vector<std::string> coordinator_argv = {
      absl::StrCat(options.bin_dir, "/star-coordinator"), "--listen", options.listen,
      "--state-dir", options.state_dir, "--port-file", port_file};
  coordinator_argv.insert(coordinator_argv.end(), root_flags.begin(), root_flags.end());
  absl::StatusOr<ChildProcess> coordinator = ChildProcess::Start(coordinator_argv, coordinator_log);
  if (!coordinator.ok()) return coordinator.status();
  cluster->coordinator_ = std::make_unique<ChildProcess>(std::move(*coordinator));
  absl::StatusOr<int> port = WaitForPortFile(port_file, *cluster->coordinator_, deadline);
  if (!port.ok()) {
    return absl::Status(port.status().code(),
                        absl::StrCat(port.status().message(), " (see ", coordinator_log, ")"));
  }
  std::string host = options.listen.substr(0, options.listen.rfind(':'));
  if (host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  cluster->coordinator_address_ = absl::StrCat(host, ":", *port);
  if (absl::Status s = WaitUntilServing(*MakeChannel(cluster->coordinator_address_), deadline);
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("coordinator: ", s.message(), " (see ",
                                               coordinator_log, ")"));
  }

  auto start_member = [&](const std::string& binary, int index) -> absl::Status {
    std::string log = absl::StrCat(log_dir, "/", binary.substr(5), "-", index, ".log");
    std::vector<std::string> argv = {absl::StrCat(options.bin_dir, "/", binary), "--coordinator",
                                     cluster->coordinator_address_};
    if (binary == "star-trainer") {
      // Ranks of a local cluster reach each other on loopback.
      argv.insert(argv.end(), {"--trainer-id", absl::StrCat("trainer-", index), "--hostname",
                               "127.0.0.1"});
    }
    const bool on_gpu = options.cuda_devices > 0 &&
                        (binary != "star-trainer" || index < options.cuda_devices);
    argv.insert(argv.end(), {"--device", on_gpu ? absl::StrCat("cuda:", index % options.cuda_devices)
                                                : std::string("cpu")});
    argv.insert(argv.end(), root_flags.begin(), root_flags.end());
    absl::StatusOr<ChildProcess> child = ChildProcess::Start(argv, log);
    if (!child.ok()) return child.status();
    cluster->members_.push_back(std::make_unique<ChildProcess>(std::move(*child)));
    return absl::OkStatus();
  };
  for (int i = 0; i < options.workers; ++i) {
    if (absl::Status s = start_member("star-worker", i); !s.ok()) return s;
  }
  for (int i = 0; i < options.trainers; ++i) {
    if (absl::Status s = start_member("star-trainer", i); !s.ok()) return s;
  }

  // Every member registers on its own; wait until the coordinator has seen all of them.
  absl::Duration pause = absl::Milliseconds(20);
  while (true) {
    std::vector<std::string> dead = cluster->Casualties();
    if (!dead.empty()) {
      return absl::InternalError(absl::StrCat(absl::StrJoin(dead, "; "), " (logs in ", log_dir,
                                              ")"));
    }
    absl::StatusOr<star::v1::ClusterStatus> status = cluster->Cluster();
    if (status.ok() && status->workers_size() >= options.workers &&
        status->trainers_size() >= options.trainers) {
      break;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "not every worker and trainer registered before the deadline (logs in ", log_dir, ")"));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(250));
  }
  return cluster;
}

LocalCluster::~LocalCluster() { Stop(absl::Seconds(5)).IgnoreError(); }

absl::StatusOr<star::v1::ClusterStatus> LocalCluster::Cluster() const {
  auto stub = star::v1::Jobs::NewStub(MakeChannel(coordinator_address_));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  star::v1::ClusterStatus status;
  grpc::Status rpc = stub->GetCluster(&context, star::v1::GetClusterRequest(), &status);
  if (!rpc.ok()) return FromGrpcStatus(rpc);
  return status;
}

std::vector<std::string> LocalCluster::Casualties() {
  std::vector<std::string> dead;
  auto check = [&](ChildProcess& p) {
    if (std::optional<int> status = p.Poll()) {
      dead.push_back(absl::StrCat(p.name(), " (pid ", p.pid(), ") exited with ", *status));
    }
  };
  if (coordinator_) check(*coordinator_);
  for (auto& member : members_) check(*member);
  return dead;
}

absl::Status LocalCluster::Stop(absl::Duration grace) {
  std::vector<std::string> failures;
  auto stop = [&](ChildProcess& p) {
    int status = p.Stop(grace);
    if (status != 0) failures.push_back(absl::StrCat(p.name(), " exited with ", status));
  };
  for (auto& member : members_) member->Signal(SIGTERM);
  for (auto& member : members_) stop(*member);
  members_.clear();
  if (coordinator_) stop(*coordinator_);
  coordinator_.reset();
  if (!failures.empty()) return absl::InternalError(absl::StrJoin(failures, "; "));
  return absl::OkStatus();
}

}  // namespace star
