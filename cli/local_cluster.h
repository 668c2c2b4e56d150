#ifndef STAR_CLI_LOCAL_CLUSTER_H_
#define STAR_CLI_LOCAL_CLUSTER_H_

// A whole STaR cluster on one machine: a coordinator, N workers and M trainer ranks started as
// child processes of the operator CLI, each logging to its own file.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "process/child_process.h"
#include "star/v1/jobs.pb.h"

namespace star {

// The folder of the running executable (/proc/self/exe): the daemons are installed beside `star`.
std::string ExecutableDirectory();

struct LocalClusterOptions {
  // Folder holding star-coordinator, star-worker and star-trainer.
  std::string bin_dir;
  // Where the coordinator keeps its state and every process writes its log (created).
  std::string state_dir;
  std::string listen = "127.0.0.1:0";
  int workers = 1;
  int trainers = 1;
  // GPUs the members are spread over: worker i gets --device cuda:(i mod n), trainer rank i
  // cuda:i (generation and training alternate, so a GPU holds a worker and a rank). NCCL takes
  // one rank per GPU, so ranks beyond n get --device cpu (and a round that includes them runs on
  // Gloo). 0: every member gets --device cpu.
  int cuda_devices = 0;
  // --data-root of every process (each also gets state_dir); empty: the working directory.
  std::vector<std::string> data_roots;
  // How long start-up may take before Start() gives up.
  absl::Duration start_timeout = absl::Seconds(60);
};

class LocalCluster {
 public:
  // Starts the coordinator, waits for it to serve, starts the workers and trainers and waits
  // until all have registered. On failure the processes already started are stopped and the
  // error names the process and its log file. Not thread-safe.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(const LocalClusterOptions& options);

  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;
  ~LocalCluster();

  const std::string& coordinator_address() const { return coordinator_address_; }

  // The members as the coordinator sees them.
  absl::StatusOr<star::v1::ClusterStatus> Cluster() const;

  // Processes that have exited although nobody stopped them, as "name (pid N) exited with S".
  std::vector<std::string> Casualties();

  // SIGTERM to workers and trainers, then to the coordinator; each gets `grace` to exit.
  // Returns kInternal listing every process that did not exit 0.
  absl::Status Stop(absl::Duration grace);

 private:
  LocalCluster() = default;

  LocalClusterOptions options_;
  std::string coordinator_address_;
  std::unique_ptr<ChildProcess> coordinator_;
  std::vector<std::unique_ptr<ChildProcess>> members_;
};

}  // namespace star

#endif  // STAR_CLI_LOCAL_CLUSTER_H_
