#include "tests/daemon_trio.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/grpcpp.h"
#include "service/health_client.h"
#include "star/v1/jobs.grpc.pb.h"

namespace star::testing {
namespace {

std::vector<std::string> MetricsFlags(const TempDir& dir, const std::string& name) {
  return {"--metrics-port", "0", "--metrics-host", "127.0.0.1", "--metrics-port-file",
          dir.File(name + ".metrics-port")};
}

// Model paths are filled in with the source tree.
constexpr char kTinyJob[] = R"(name: scrape
task:
  addition: {min_digits: 1, max_digits: 2, train_questions: 8, eval_questions_per_length: 4,
             seed_max_digits: 1, seed_examples: 32}
model:
  init_config: %s/examples/tiny-char-llama/config.json
  init_tokenizer: %s/examples/tiny-char-llama/tokenizer.json
  init_seed: 1
generation: {max_new_tokens: 40, batch_size: 8}
filter: {rationalization: true}
training: {seed_steps: 20, initial_steps: 5, learning_rate: 0.003, global_batch_size: 4,
           world_size: 1}
iterations: 1
shard_size: 4
)";

}  // namespace

std::string TinyJobYaml() { return absl::StrFormat(kTinyJob, STAR_SOURCE_DIR, STAR_SOURCE_DIR); }

absl::StatusOr<std::unique_ptr<DaemonTrio>> DaemonTrio::Start(const TempDir& dir,
                                                              absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  std::unique_ptr<DaemonTrio> trio(new DaemonTrio(dir));
  absl::StatusOr<RunningCoordinator> coordinator =
      StartCoordinator(dir, timeout, MetricsFlags(dir, "coordinator"));
  if (!coordinator.ok()) return coordinator.status();
  trio->coordinator_address_ = coordinator->address;
  trio->processes_.emplace("coordinator", std::move(coordinator->process));

  std::vector<std::string> worker = {BinaryPath("star-worker"), "--coordinator",
                                     trio->coordinator_address_, "--poll-wait-ms", "200"};
  std::vector<std::string> trainer = {BinaryPath("star-trainer"), "--coordinator",
                                      trio->coordinator_address_, "--hostname", "127.0.0.1",
                                      "--poll-wait-ms", "200"};
  for (auto [name, argv] : {std::pair{std::string("worker"), worker},
                            std::pair{std::string("trainer"), trainer}}) {
    std::vector<std::string> flags = MetricsFlags(dir, name);
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::vector<std::string> roots = DataRootFlags(dir);
    argv.insert(argv.end(), roots.begin(), roots.end());
    absl::StatusOr<ChildProcess> process = ChildProcess::Start(argv, dir.File(name + ".log"));
    if (!process.ok()) return process.status();
    trio->processes_.emplace(name, std::move(*process));
  }
  for (auto& [name, process] : trio->processes_) {
    absl::StatusOr<int> port = WaitForPortFile(dir.File(name + ".metrics-port"), process,
                                               dir.File(name + ".log"), deadline);
    if (!port.ok()) return port.status();
    trio->metrics_ports_[name] = *port;
  }
  // Registered: the coordinator lists both members.
  auto jobs = star::v1::Jobs::NewStub(MakeChannel(trio->coordinator_address_));
  absl::Duration pause = absl::Milliseconds(10);
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    star::v1::ClusterStatus cluster;
    grpc::Status status = jobs->GetCluster(&context, star::v1::GetClusterRequest(), &cluster);
    if (status.ok() && cluster.workers_size() == 1 && cluster.trainers_size() == 1) break;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("worker and trainer did not register: ", trio->Logs()));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(200));
  }
  return trio;
}

std::string DaemonTrio::Logs() const {
  std::string logs;
  for (const char* name : {"coordinator", "worker", "trainer"}) {
    absl::StrAppend(&logs, "--- ", name, ".log\n", ReadFile(dir_.File(std::string(name) + ".log")));
  }
  return logs;
}

absl::Status DaemonTrio::Stop() {
  std::string failures;
  for (const char* name : {"worker", "trainer", "coordinator"}) {
    auto it = processes_.find(name);
    if (it == processes_.end()) continue;
    int status = it->second.Stop(absl::Seconds(15));
    if (status != 0) absl::StrAppend(&failures, name, " exited with ", status, "; ");
  }
  if (!failures.empty()) return absl::InternalError(failures);
  return absl::OkStatus();
}

}  // namespace star::testing
