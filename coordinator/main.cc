// star-coordinator: serves the Coordinator, Training, Jobs and grpc.health.v1.Health services.

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/grpc_services.h"
#include "coordinator/job_manager.h"
#include "coordinator/state_store.h"
#include "files/path_policy.h"
#include "flags/flag_parser.h"
#include "log/log.h"
#include "metrics/build_info.h"
#include "metrics/metric_registry.h"
#include "metrics/metrics_flags.h"
#include "service/channel_security.h"
#include "service/grpc_server.h"
#include "service/security_flags.h"
#include "service/shutdown_signal.h"

int main(int argc, char** argv) {
  // Debian's Abseil is built with its deadlock detector on: every lock of one of gRPC's mutexes
  // would update a lock graph (with a stack trace). The tests keep it; the coordinator, which
  // takes such locks tens of thousands of times a second, does not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  star::BlockShutdownSignals();
  star::SetLogProgramName("star-coordinator");

  std::string listen = "0.0.0.0:50051";
  std::string state_dir = "./star-state";
  std::string port_file;
  int64_t lease_timeout_s = 60;
  int64_t max_shard_leases = 5;
  int64_t collective_timeout_s = 120;
  double round_settle_s = 10;
  double shutdown_grace_s = 3;
  std::vector<std::string> data_roots;
  star::FlagParser flags("star-coordinator",
                         "Runs the STaR coordinator: leases question shards to workers, collects "
                         "verified rationales and drives training rounds.");
  flags.AddHostPort("listen", &listen, "HOST:PORT to serve gRPC on (port 0: chosen by the OS)");
  flags.AddString("state-dir", &state_dir, "directory holding the coordinator's state");
  flags.AddStringList("data-root", &data_roots,
                      "a folder under which the files a job names (checkpoints, tokenizer, "
                      "question files) may lie; repeatable (default: the working directory and "
                      "--state-dir)");
  flags.AddString("port-file", &port_file,
                  "write the bound port to this file once serving (for scripts and tests)");
  flags.AddInt("lease-timeout-seconds", &lease_timeout_s,
               "how long a worker's shard lease lasts without renewal", 1, 86400);
  flags.AddInt("max-shard-leases", &max_shard_leases,
               "a shard whose lease ran out this many times fails its job (every worker that "
               "took it failed or died)",
               1, 1000);
  flags.AddInt("collective-timeout-seconds", &collective_timeout_s,
               "how long a trainer rank waits in a collective before its round fails (a rank "
               "that died)",
               1, 86400);
  flags.AddDouble("round-settle-seconds", &round_settle_s,
                  "a round re-run after a failure waits this long for the full world, then "
                  "forms with the ranks still alive",
                  0, 3600);
  flags.AddDouble("shutdown-grace-seconds", &shutdown_grace_s,
                  "on SIGTERM/SIGINT, how long in-flight calls may run before they are cancelled",
                  0, 600);
  star::SecurityFlags security_flags;
  star::AddServerSecurityFlags(flags, &security_flags);
  star::metrics::MetricsFlags metrics_flags;
  star::metrics::AddMetricsFlags(flags, &metrics_flags);
  flags.ParseOrExit(argc, argv);
  absl::StatusOr<star::ServerSecurity> security =
      star::LoadServerSecurity(security_flags.tls, security_flags.auth_token_file);
  if (!security.ok()) {
    STAR_LOG(ERROR) << security.status().message();
    return 1;
  }

  // jobs/ is where every job's models go. Creating it now also finds a state directory that
  // exists but is not writable by this user (a volume mount owned by another uid, e.g. an NFS
  // export that ignores fsGroup) at startup rather than at the first job.
  const std::string jobs_dir = state_dir + "/jobs";
  std::error_code ec;
  std::filesystem::create_directories(jobs_dir, ec);
  if (ec) {
    STAR_LOG(ERROR) << "--state-dir " << state_dir << ": cannot create " << jobs_dir << ": "
                    << ec.message() << " (it must be writable by uid " << ::getuid() << ")";
    return 1;
  }

  if (data_roots.empty()) data_roots = {".", state_dir};
  absl::StatusOr<star::PathPolicy> paths = star::PathPolicy::Create(data_roots);
  if (!paths.ok()) {
    STAR_LOG(ERROR) << paths.status().message();
    return 1;
  }
  STAR_LOG(INFO) << "data roots: " << absl::StrJoin(paths->roots(), ", ");

  // Everything the coordinator accepts is committed here before it is acknowledged.
  const std::string database = star::StateStore::PathIn(state_dir);
  absl::StatusOr<std::unique_ptr<star::StateStore>> store = star::StateStore::Open(database);
  if (!store.ok()) {
    STAR_LOG(ERROR) << "--state-dir " << state_dir << ": " << store.status().message();
    return 1;
  }

  star::metrics::MetricRegistry registry;
  star::metrics::AddBuildInfo(registry, "coordinator");
  star::CoordinatorMetrics metrics(&registry);
  star::CoordinatorOptions options;
  options.lease_timeout = absl::Seconds(lease_timeout_s);
  options.metrics = &metrics;
  options.max_shard_leases = static_cast<int>(max_shard_leases);
  options.store = store->get();
  star::Coordinator coordinator(options);
  // Who may call what: see OperatorAuthenticator() in service/channel_security.h.
  std::unique_ptr<star::CallAuthenticator> member_auth =
      star::ClusterMemberAuthenticator(*security);
  std::unique_ptr<star::CallAuthenticator> operator_auth = star::OperatorAuthenticator(*security);
  star::CoordinatorGrpcService coordinator_service(&coordinator, member_auth.get());
  star::TrainingGrpcService training_service(&coordinator, member_auth.get());
  star::JobRunnerOptions runner_options;
  runner_options.collective_timeout_ms = static_cast<uint32_t>(collective_timeout_s * 1000);
  runner_options.round_settle = absl::Seconds(round_settle_s);
  star::JobManager jobs(&coordinator, state_dir, *std::move(paths), runner_options);
  if (absl::Status s = jobs.Resume(); !s.ok()) {
    STAR_LOG(ERROR) << "--state-dir " << state_dir << ": " << s.message();
    return 1;
  }
  star::JobsGrpcService jobs_service(&coordinator, &jobs, operator_auth.get());
  metrics.CollectFrom(&coordinator, &jobs, &jobs_service);
  // Declared after everything the registry reads, so that it stops serving first.
  absl::StatusOr<std::unique_ptr<star::metrics::MetricsHttpServer>> metrics_server =
      star::metrics::StartMetricsServer(metrics_flags, &registry);
  if (!metrics_server.ok()) {
    STAR_LOG(ERROR) << metrics_server.status().message();
    return 1;
  }

  absl::StatusOr<std::unique_ptr<star::GrpcServer>> server = star::GrpcServer::Start(
      listen, {{star::v1::Coordinator::service_full_name(), &coordinator_service},
               {star::v1::Training::service_full_name(), &training_service},
               {star::v1::Jobs::service_full_name(), &jobs_service}},
      security->credentials);
  if (!server.ok()) {
    STAR_LOG(ERROR) << "--listen " << listen << ": " << server.status().message();
    return 1;
  }
  STAR_LOG(INFO) << "serving on " << (*server)->address()
                 << (security->credentials == nullptr ? " (plaintext)"
                     : security->client_certificates ? " (mutual TLS)"
                                                     : " (TLS)")
                 << (security->bearer_token.empty() ? "" : ", Jobs calls need the bearer token")
                 << ", state in " << database << " (epoch " << (*store)->epoch() << ")";
  if (!port_file.empty()) {
    if (absl::Status s = star::WritePortFile(port_file, (*server)->port()); !s.ok()) {
      STAR_LOG(ERROR) << "--port-file: " << s.message();
      return 1;
    }
  }

  int sig = 0;
  while ((sig = star::WaitForShutdownSignal(absl::Hours(1))) == 0) {
  }
  STAR_LOG(INFO) << star::ShutdownSignalName(sig) << " received: health NOT_SERVING, draining for up to "
                 << shutdown_grace_s << "s";
  coordinator.BeginShutdown();
  (*server)->Shutdown(absl::Seconds(shutdown_grace_s));
  jobs.Shutdown();
  STAR_LOG(INFO) << "stopped";
  return 0;
}
