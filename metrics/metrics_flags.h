#ifndef STAR_METRICS_METRICS_FLAGS_H_
#define STAR_METRICS_METRICS_FLAGS_H_

// The --metrics-* flags every daemon shares, and starting the /metrics server from them:
//
//   --metrics-port N        serve /metrics on port N; 0: a port the OS chooses (learn it from
//                           --metrics-port-file); -1 (the default): no metrics server
//   --metrics-host ADDR     IPv4 address to listen on (default 0.0.0.0, every interface)
//   --metrics-port-file F   write the bound port to F once serving (for scripts and tests)

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "flags/flag_parser.h"
#include "metrics/metric_registry.h"
#include "metrics/metrics_http_server.h"

namespace star::metrics {

struct MetricsFlags {
  int64_t port = -1;
  std::string host = "0.0.0.0";
  std::string port_file;
};

// Registers the three flags on `parser`, filling `flags` (which must outlive parsing).
void AddMetricsFlags(FlagParser& parser, MetricsFlags* flags);

// Starts the server the flags ask for and writes the port file. Returns nullptr when
// --metrics-port is -1. Errors: MetricsHttpServer::Start()'s (prefixed with the flag and its
// value), and kInternal naming the port file when it cannot be written. `registry` must outlive the server.
absl::StatusOr<std::unique_ptr<MetricsHttpServer>> StartMetricsServer(
    const MetricsFlags& flags, const MetricRegistry* registry);

}  // namespace star::metrics

#endif  // STAR_METRICS_METRICS_FLAGS_H_
