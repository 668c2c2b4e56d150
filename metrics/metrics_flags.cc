#include "metrics/metrics_flags.h"

#include "absl/strings/str_cat.h"
#include "log/log.h"
#include "service/grpc_server.h"

namespace star::metrics {

void AddMetricsFlags(FlagParser& parser, MetricsFlags* flags) {
  parser.AddInt("metrics-port", &flags->port,
                "serve Prometheus metrics on this port at /metrics (0: a port chosen by the OS, "
                "see --metrics-port-file; -1: no metrics server)",
                -1, 65535);
  parser.AddString("metrics-host", &flags->host,
                   "IPv4 address the metrics server listens on (0.0.0.0: every interface)");
  parser.AddString("metrics-port-file", &flags->port_file,
                   "write the metrics server's bound port to this file once serving");
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> StartMetricsServer(
    const MetricsFlags& flags, const MetricRegistry* registry) {
  if (flags.port < 0) return std::unique_ptr<MetricsHttpServer>();
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(flags.host, static_cast<int>(flags.port), registry);
  if (!server.ok()) {
    return absl::Status(server.status().code(), absl::StrCat("--metrics-port ", flags.port, ": ",
                                                             server.status().message()));
  }
  STAR_LOG(INFO) << "serving metrics on " << flags.host << ":" << (*server)->port() << "/metrics";
  if (!flags.port_file.empty()) {
    if (absl::Status s = WritePortFile(flags.port_file, (*server)->port()); !s.ok()) return s;
  }
  return server;
}

}  // namespace star::metrics
