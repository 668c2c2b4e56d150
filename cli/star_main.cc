// star: the operator's command-line tool.

#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/local_cluster.h"
#include "cli/model_commands.h"
#include "cli/operator_connection.h"
#include "cli/run_command.h"
#include "cli/export_command.h"
#include "cli/submit_command.h"
#include "flags/flag_parser.h"
#include "grpcpp/grpcpp.h"
#include "log/log.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
#include "service/shutdown_signal.h"
#include "star/v1/jobs.grpc.pb.h"

namespace star {
namespace {

constexpr char kUsage[] =
    "star: the operator's tool for the STaR training orchestrator.\n"
    "\n"
    "Usage: star COMMAND [flags]   (star COMMAND --help for a command's flags)\n"
    "\n"
    "Commands:\n"
    "  run         run a STaR job (JOB.yaml) on this machine and report its results\n"
    "  submit      submit a STaR job (JOB.yaml) to a running coordinator, optionally follow it\n"
    "  up          start a local cluster (coordinator, workers, trainer ranks), show it healthy\n"
    "  status      show a running coordinator's health, its workers and trainers, and its jobs\n"
    "  watch       follow a job on a running coordinator to its end and print its table\n"
    "  cancel      cancel a job on a running coordinator and wait until it has stopped\n"
    "  export      write the rationales accepted in one iteration as JSON Lines\n"
    "  init-model  write a randomly initialised model directory from a config and a tokenizer\n"
    "  generate    print a model directory's continuation of a prompt\n";

void PrintCluster(const star::v1::ClusterStatus& cluster) {
  std::printf("%-10s %-22s %s\n", "ROLE", "ID", "HOST");
  for (const auto& w : cluster.workers()) {
    std::printf("%-10s %-22s %s\n", "worker", w.worker_id().c_str(), w.hostname().c_str());
  }
  for (const auto& t : cluster.trainers()) {
    std::printf("%-10s %-22s %s%s\n", "trainer", t.trainer_id().c_str(), t.hostname().c_str(),
                t.has_cuda() ? " (cuda)" : "");
  }
}

int RunUp(int argc, char** argv) {
  LocalClusterOptions options;
  options.bin_dir = ExecutableDirectory();
  options.state_dir = "./star-state";
  int64_t workers = 1;
  int64_t trainers = 1;
  bool check = false;
  std::string device = "auto";
  FlagParser flags("star up",
                   "Starts a local STaR cluster (a coordinator, workers and trainer ranks as child "
                   "processes), waits until every member is healthy and registered, and shows "
                   "it. Runs until SIGINT/SIGTERM, or stops at once with --check.");
  flags.AddString("state-dir", &options.state_dir,
                  "coordinator state and the processes' log files");
  flags.AddHostPort("listen", &options.listen, "coordinator address (port 0: chosen by the OS)");
  flags.AddInt("workers", &workers, "worker processes", 0, 256);
  flags.AddInt("trainers", &trainers, "trainer ranks", 0, 256);
  flags.AddBool("check", &check, "stop the cluster as soon as it is healthy; exit 0 if it was");
  flags.AddString("device", &device,
                  "auto (workers and ranks spread over every visible GPU, else the CPU), cuda "
                  "or cpu");
  flags.ParseOrExit(argc, argv, 2);
  absl::StatusOr<int> gpus = LocalClusterGpus(device);
  if (!gpus.ok()) flags.ExitWithFlagError("device", gpus.status().message());
  options.cuda_devices = *gpus;
  options.workers = static_cast<int>(workers);
  options.trainers = static_cast<int>(trainers);

  std::printf("starting coordinator, %d worker(s), %d trainer rank(s); logs in %s\n",
              options.workers, options.trainers, options.state_dir.c_str());
  std::fflush(stdout);
  absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<LocalCluster>> cluster = LocalCluster::Start(options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "star up: %s\n", std::string(cluster.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<star::v1::ClusterStatus> members = (*cluster)->Cluster();
  if (!members.ok()) {
    std::fprintf(stderr, "star up: %s\n", members.status().ToString().c_str());
    return 1;
  }
  std::printf("coordinator %s SERVING; all members registered in %.1fs\n",
              (*cluster)->coordinator_address().c_str(),
              absl::ToDoubleSeconds(absl::Now() - start));
  PrintCluster(*members);
  std::fflush(stdout);
  if (!check) {
    std::printf("press Ctrl-C to stop\n");
    std::fflush(stdout);
    while (WaitForShutdownSignal(absl::Seconds(1)) == 0) {
      std::vector<std::string> dead = (*cluster)->Casualties();
      if (!dead.empty()) {
        std::fprintf(stderr, "star up: %s\n", dead.front().c_str());
        break;
      }
    }
  }
  absl::Status stopped = (*cluster)->Stop(absl::Seconds(10));
  if (!stopped.ok()) {
    std::fprintf(stderr, "star up: unclean stop: %s\n", std::string(stopped.message()).c_str());
    return 1;
  }
  std::printf("cluster stopped cleanly\n");
  return 0;
}

int RunStatus(int argc, char** argv) {
  OperatorConnectionFlags connection;
  FlagParser flags("star status",
                   "Shows a coordinator's health, the workers and trainer ranks it knows, and "
                   "its jobs.");
  AddOperatorConnectionFlags(flags, &connection);
  flags.ParseOrExit(argc, argv, 2);
  std::shared_ptr<grpc::Channel> channel = OperatorChannel("star status", connection);
  if (channel == nullptr) return 2;
  const std::string& coordinator = connection.coordinator;
  absl::StatusOr<HealthState> health = CheckHealth(*channel, "", absl::Seconds(5));
  if (!health.ok()) {
    std::fprintf(stderr, "star status: %s: %s\n", coordinator.c_str(),
                 health.status().ToString().c_str());
    return 1;
  }
  std::printf("coordinator %s %s\n", coordinator.c_str(), HealthStateName(*health));
  auto stub = star::v1::Jobs::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  star::v1::ClusterStatus cluster;
  grpc::Status rpc = stub->GetCluster(&context, star::v1::GetClusterRequest(), &cluster);
  if (!rpc.ok()) {
    std::fprintf(stderr, "star status: %s\n", FromGrpcStatus(rpc).ToString().c_str());
    return 1;
  }
  PrintCluster(cluster);
  grpc::ClientContext jobs_context;
  jobs_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  star::v1::ListJobsResponse jobs;
  rpc = stub->ListJobs(&jobs_context, star::v1::ListJobsRequest(), &jobs);
  if (!rpc.ok()) {
    std::fprintf(stderr, "star status: %s\n", FromGrpcStatus(rpc).ToString().c_str());
    return 1;
  }
  std::printf("jobs: %d\n", jobs.jobs_size());
  for (const star::v1::JobStatus& job : jobs.jobs()) {
    std::printf("  %s %s: %s\n", job.job_id().c_str(), star::v1::JobState_Name(job.state()).c_str(),
                FormatProgressLine(job).c_str());
    if (!job.error().empty()) std::printf("    error: %s\n", job.error().c_str());
  }
  return 0;
}

int RunCancel(int argc, char** argv) {
  OperatorConnectionFlags connection;
  std::string job_id;
  bool detach = false;
  FollowOptions follow;
  follow.give_up_seconds = 120;
  FlagParser flags("star cancel",
                   "Cancels a job on a running coordinator (the Jobs API's CancelJob) and follows "
                   "it until it has stopped: exit 0 once it ends CANCELLED, 1 when it had already "
                   "ended otherwise or cannot be reached.");
  AddOperatorConnectionFlags(flags, &connection);
  flags.AddPositional("JOB_ID", &job_id, "the job to cancel (star status lists them)");
  flags.AddBool("detach", &detach, "return once the coordinator has the request, without waiting");
  AddFollowFlags(flags, &follow);
  flags.ParseOrExit(argc, argv, 2);
  std::shared_ptr<grpc::Channel> channel = OperatorChannel("star cancel", connection);
  if (channel == nullptr) return 2;
  auto stub = star::v1::Jobs::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  star::v1::CancelJobRequest request;
  request.set_job_id(job_id);
  star::v1::JobStatus status;
  grpc::Status rpc = stub->CancelJob(&context, request, &status);
  if (!rpc.ok()) {
    std::fprintf(stderr, "star cancel: %s: %s\n", connection.coordinator.c_str(),
                 FromGrpcStatus(rpc).ToString().c_str());
    return 1;
  }
  const auto ended = [](const star::v1::JobStatus& s) {
    return s.state() == star::v1::JOB_STATE_SUCCEEDED || s.state() == star::v1::JOB_STATE_FAILED ||
           s.state() == star::v1::JOB_STATE_CANCELLED;
  };
  if (ended(status) && status.state() != star::v1::JOB_STATE_CANCELLED) {
    std::fprintf(stderr, "star cancel: job %s had already ended: %s\n", job_id.c_str(),
                 star::v1::JobState_Name(status.state()).c_str());
    return 1;
  }
  std::printf("job %s: cancellation requested\n", job_id.c_str());
  std::fflush(stdout);
  if (detach) return 0;
  absl::StatusOr<star::v1::JobStatus> final_status = FollowJob(*stub, job_id, follow);
  if (!final_status.ok()) {
    std::fprintf(stderr, "star cancel: %s\n", final_status.status().ToString().c_str());
    return 1;
  }
  std::printf("job %s: %s\n", job_id.c_str(), star::v1::JobState_Name(final_status->state()).c_str());
  return final_status->state() == star::v1::JOB_STATE_CANCELLED ? 0 : 1;
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) {
  star::BlockShutdownSignals();
  star::SetLogProgramName("star");
  if (argc < 2) {
    std::fputs(star::kUsage, stderr);
    return 2;
  }
  std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(star::kUsage, stdout);
    return 0;
  }
  if (command == "run") return star::RunRun(argc, argv);
  if (command == "submit") return star::RunSubmit(argc, argv);
  if (command == "up") return star::RunUp(argc, argv);
  if (command == "status") return star::RunStatus(argc, argv);
  if (command == "watch") return star::RunWatch(argc, argv);
  if (command == "cancel") return star::RunCancel(argc, argv);
  if (command == "export") return star::RunExport(argc, argv);
  if (command == "init-model") return star::RunInitModel(argc, argv);
  if (command == "generate") return star::RunGenerate(argc, argv);
  std::fprintf(stderr, "star: unknown command '%s' (see star --help)\n",
               std::string(command).c_str());
  return 2;
}
