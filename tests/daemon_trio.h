#ifndef STAR_TESTS_DAEMON_TRIO_H_
#define STAR_TESTS_DAEMON_TRIO_H_

// A coordinator, one worker and one trainer rank as real processes on loopback ports chosen by
// the OS, each serving /metrics on a port of its own, for the tests that scrape live daemons.

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "process/child_process.h"
#include "tests/test_environment.h"

namespace star::testing {

// A job that runs every phase on a trio in seconds: the seed stage, one iteration and the
// evaluations, with one trainer rank, from a randomly initialised examples/tiny-char-llama.
std::string TinyJobYaml();

class DaemonTrio {
 public:
  // Starts the three with their logs in `dir` and returns once the coordinator serves, both
  // members are registered with it and every metrics port is known. `dir` must outlive the trio.
  static absl::StatusOr<std::unique_ptr<DaemonTrio>> Start(
      const TempDir& dir, absl::Duration timeout = absl::Seconds(60));

  DaemonTrio(const DaemonTrio&) = delete;
  DaemonTrio& operator=(const DaemonTrio&) = delete;
  ~DaemonTrio() = default;  // processes still running are killed by ChildProcess

  const std::string& coordinator_address() const { return coordinator_address_; }
  // "coordinator", "worker", "trainer" -> metrics port.
  const std::map<std::string, int>& metrics_ports() const { return metrics_ports_; }
  // Every log, headed by its name (for failure messages).
  std::string Logs() const;

  // SIGTERM to the worker and the trainer, then the coordinator; kInternal naming each one that
  // did not exit 0 within 15 s.
  absl::Status Stop();

 private:
  DaemonTrio(const TempDir& dir) : dir_(dir) {}

  const TempDir& dir_;
  std::string coordinator_address_;
  std::map<std::string, int> metrics_ports_;
  std::map<std::string, ChildProcess> processes_;
};

}  // namespace star::testing

#endif  // STAR_TESTS_DAEMON_TRIO_H_
