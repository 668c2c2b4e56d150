#ifndef STAR_SERVICE_DAEMON_H_
#define STAR_SERVICE_DAEMON_H_

// The start-up star-worker and star-trainer share: the flags every daemon that serves a
// coordinator has (where the coordinator is, who this process is, how long it long-polls, its
// compute threads and device, the folders it may touch, TLS, metrics), loading what they name,
// and running the daemon's loop until SIGTERM or SIGINT.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "files/path_policy.h"
#include "flags/flag_parser.h"
#include "metrics/metric_registry.h"
#include "metrics/metrics_flags.h"
#include "metrics/metrics_http_server.h"
#include "service/channel_security.h"
#include "service/security_flags.h"
#include "service/stop_flag.h"

namespace star {

struct DaemonFlags {
  std::string coordinator = "127.0.0.1:50051";
  std::string hostname;  // AddDaemonFlags sets the default: this machine's host name
  int64_t poll_wait_ms = 2000;
  int64_t threads = 1;
  // Checked by the binary (model/cuda_devices.h): "cpu", "cuda", "cuda:N" or "auto".
  std::string device = "auto";
  std::vector<std::string> data_roots = {"."};
  SecurityFlags security;
  metrics::MetricsFlags metrics;
};

// The help that differs between daemons.
struct DaemonHelp {
  std::string hostname;     // what --hostname is for
  std::string poll_wait;    // what one long-poll waits for
  std::string threads;      // what the compute threads do
  std::string device;       // what runs on --device
  std::string data_root;    // what may lie under a --data-root
};

// Registers --coordinator, --hostname, --poll-wait-ms, --threads, --device, --data-root, the
// client security flags and the metrics flags on `parser`, filling `flags` (which must outlive
// parsing).
void AddDaemonFlags(FlagParser& parser, DaemonFlags* flags, const DaemonHelp& help);

// What the flags named, loaded.
struct DaemonSetup {
  ClientSecurity security;
  std::unique_ptr<PathPolicy> data_roots;
  // Null when --metrics-port is -1.
  std::unique_ptr<metrics::MetricsHttpServer> metrics_server;
};

// Loads the TLS files and the data roots and starts the metrics server on `registry` (which
// must outlive it). Errors are those of the loaders, each naming its flag and file.
absl::StatusOr<DaemonSetup> SetUpDaemon(const DaemonFlags& flags,
                                        const metrics::MetricRegistry* registry);

// Runs `loop` on its own thread until SIGTERM or SIGINT (which must have been blocked with
// BlockShutdownSignals before any thread started), then stops it through its StopFlag and waits
// for it to return. Logs the signal and `finishing` (what the loop finishes before it stops).
void RunUntilShutdownSignal(const std::function<void(const StopFlag&)>& loop,
                            std::string_view finishing);

}  // namespace star

#endif  // STAR_SERVICE_DAEMON_H_
