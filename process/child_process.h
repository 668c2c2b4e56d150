#ifndef STAR_PROCESS_CHILD_PROCESS_H_
#define STAR_PROCESS_CHILD_PROCESS_H_

// A child process started with posix_spawn, for `star up`/`star run` (a local cluster) and the
// multi-process tests. The child's stdout and stderr go to a log file (or are inherited).

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace star {

class ChildProcess {
 public:
  // Starts `argv[0]` (a path) with `argv`. When `log_path` is non-empty the child's stdout and
  // stderr are appended to it; otherwise they are inherited. Returns kNotFound when argv[0]
  // does not exist and kInternal when it cannot be spawned.
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv,
                                            const std::string& log_path = "");

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills (SIGKILL) and reaps a child still running, so that none outlives its owner.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

  // Sends `signal_number` to a child still running.
  void Signal(int signal_number);

  // Waits up to `timeout` for the child to exit. Returns its exit status as a shell shows it
  // (the exit code, or 128 + signal number when a signal ended it), or nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);

  // Non-blocking: the exit status if the child has exited.
  std::optional<int> Poll() { return Wait(absl::ZeroDuration()); }

  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status.
  int Stop(absl::Duration grace);

 private:
  ChildProcess(pid_t pid, std::string name) : pid_(pid), name_(std::move(name)) {}

  pid_t pid_ = -1;
  std::string name_;
  std::optional<int> exit_status_;
};

}  // namespace star

#endif  // STAR_PROCESS_CHILD_PROCESS_H_
