#include "service/daemon.h"

#include <unistd.h>

#include <thread>

#include "log/log.h"
#include "service/shutdown_signal.h"

namespace star {

void AddDaemonFlags(FlagParser& parser, DaemonFlags* flags, const DaemonHelp& help) {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  flags->hostname = host;
  parser.AddHostPort("coordinator", &flags->coordinator, "coordinator address HOST:PORT");
  parser.AddString("hostname", &flags->hostname, help.hostname);
  parser.AddInt("poll-wait-ms", &flags->poll_wait_ms, help.poll_wait, 10, 30000);
  parser.AddInt("threads", &flags->threads, help.threads, 1, 256);
  parser.AddString("device", &flags->device, help.device);
  parser.AddStringList("data-root", &flags->data_roots, help.data_root);
  AddClientSecurityFlags(parser, &flags->security, /*with_token=*/false);
  metrics::AddMetricsFlags(parser, &flags->metrics);
}

absl::StatusOr<DaemonSetup> SetUpDaemon(const DaemonFlags& flags,
                                        const metrics::MetricRegistry* registry) {
  DaemonSetup setup;
  absl::StatusOr<ClientSecurity> security =
      LoadClientSecurity(flags.security.tls, flags.security.auth_token_file);
  if (!security.ok()) return security.status();
  setup.security = *std::move(security);
  absl::StatusOr<PathPolicy> roots = PathPolicy::Create(flags.data_roots);
  if (!roots.ok()) return roots.status();
  setup.data_roots = std::make_unique<PathPolicy>(*std::move(roots));
  absl::StatusOr<std::unique_ptr<metrics::MetricsHttpServer>> server =
      metrics::StartMetricsServer(flags.metrics, registry);
  if (!server.ok()) return server.status();
  setup.metrics_server = *std::move(server);
  return setup;
}

void RunUntilShutdownSignal(const std::function<void(const StopFlag&)>& loop,
                            std::string_view finishing) {
  StopFlag stop;
  std::thread thread([&] { loop(stop); });
  int sig = 0;
  while ((sig = WaitForShutdownSignal(absl::Hours(1))) == 0) {
  }
  STAR_LOG(INFO) << ShutdownSignalName(sig) << " received: " << finishing;
  stop.Stop();
  thread.join();
  STAR_LOG(INFO) << "stopped";
}

}  // namespace star
