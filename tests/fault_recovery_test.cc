// Faults during a small real STaR job, with real processes: a coordinator (SQLite state), two
// workers and two trainer ranks. Each test kills one process with SIGKILL at a chosen moment
// and compares what the job accepted and trained with a fault-free run of the same job:
//   - the coordinator during generation and during a training round (restarted on the same
//     --state-dir and port): the same accepted set and a bit-identical final model;
//   - a worker holding a lease: the lease runs out, the shard is done by the other worker, the
//     same accepted set and a bit-identical final model;
//   - a trainer rank during a round: the other rank fails fast, the round is re-run with the
//     rank still alive (same global batch), the killed rank, restarted, joins the next round.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "coordinator/job_config.h"
#include "gtest/gtest.h"
#include "grpcpp/grpcpp.h"
#include "model/safetensors.h"
#include "process/child_process.h"
#include "service/channel_security.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
#include "star/v1/jobs.grpc.pb.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::BinaryPath;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::TempDir;

// Two iterations of 1-2 digit sums from a briefly seeded tiny model: seconds per phase. The
// rate falls to 0 at each round's end (linear_decay), so that M0 ends where its loss settled
// rather than wherever the last noisy steps left it: the iterations must keep at least
// world_size rationales to train M1 and M2, whose bytes the faults must not change.
constexpr char kJob[] = R"(name: fault
task:
  addition: {min_digits: 1, max_digits: 2, train_questions: 64, eval_questions_per_length: 8,
             seed_max_digits: 2, seed_examples: 256}
model:
  init_config: %s/examples/tiny-char-llama/config.json
  init_tokenizer: %s/examples/tiny-char-llama/tokenizer.json
  init_seed: 1
generation: {max_new_tokens: 80, batch_size: 8}
filter: {rationalization: true}
training: {seed_steps: 200, initial_steps: 120, learning_rate: 0.002, warmup_steps: 10,
           linear_decay: true, global_batch_size: 16, world_size: 2}
iterations: 2
shard_size: 8
)";

constexpr absl::Duration kJobTimeout = absl::Seconds(300);

bool Ended(const star::v1::JobStatus& s) {
  return s.state() == star::v1::JOB_STATE_SUCCEEDED || s.state() == star::v1::JOB_STATE_FAILED ||
         s.state() == star::v1::JOB_STATE_CANCELLED;
}

// The processes of one run, their logs and state under `dir`.
class Cluster {
 public:
  explicit Cluster(std::string dir) : dir_(std::move(dir)) {}
  explicit Cluster(const TempDir& dir) : dir_(dir.path()) {}

  // Starts the coordinator (on `port_`, or a port the OS chooses the first time) and waits
  // until it serves.
  absl::Status StartCoordinator() {
    const std::string port_file = File("coordinator.port");
    std::filesystem::remove(port_file);
    const std::string log = File(absl::StrCat("coordinator-", ++coordinator_starts_, ".log"));
    absl::StatusOr<ChildProcess> process = ChildProcess::Start(
        WithDataRoots({BinaryPath("star-coordinator"), "--listen", absl::StrCat("127.0.0.1:", port_),
                       "--state-dir", state(), "--port-file", port_file, "--lease-timeout-seconds",
                       "3", "--collective-timeout-seconds", "10", "--round-settle-seconds", "2"}),
        log);
    if (!process.ok()) return process.status();
    coordinator_ = std::make_unique<ChildProcess>(std::move(*process));
    absl::StatusOr<int> port =
        testing::WaitForPortFile(port_file, *coordinator_, log, absl::Now() + absl::Seconds(30));
    if (!port.ok()) return port.status();
    port_ = *port;
    channel_ = MakeChannel(address());
    jobs_ = star::v1::Jobs::NewStub(channel_);
    return WaitUntilServing(*channel_, absl::Now() + absl::Seconds(30));
  }

  absl::Status StartWorker(int index) {
    absl::StatusOr<ChildProcess> process = ChildProcess::Start(
        WithDataRoots({BinaryPath("star-worker"), "--coordinator", address(), "--poll-wait-ms",
                       "200", "--hostname", absl::StrCat("w", index)}),
        WorkerLog(index));
    if (!process.ok()) return process.status();
    workers_[index] = std::make_unique<ChildProcess>(std::move(*process));
    return absl::OkStatus();
  }

  absl::Status StartTrainer(int index) {
    const std::string log = File(absl::StrCat("trainer-t", index, "-", ++trainer_starts_[index], ".log"));
    absl::StatusOr<ChildProcess> process = ChildProcess::Start(
        WithDataRoots({BinaryPath("star-trainer"), "--coordinator", address(), "--hostname",
                       "127.0.0.1", "--trainer-id", absl::StrCat("t", index), "--poll-wait-ms",
                       "200"}),
        log);
    if (!process.ok()) return process.status();
    trainers_[index] = std::make_unique<ChildProcess>(std::move(*process));
    return absl::OkStatus();
  }

  absl::Status Start() {
    if (absl::Status s = StartCoordinator(); !s.ok()) return s;
    for (int i : {0, 1}) {
      if (absl::Status s = StartWorker(i); !s.ok()) return s;
      if (absl::Status s = StartTrainer(i); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Start(), then Submit(): the job's id. Errors carry every log.
  absl::StatusOr<std::string> StartAndSubmit() {
    if (absl::Status s = Start(); !s.ok()) return absl::Status(s.code(), absl::StrCat(s.message(), Logs()));
    return Submit();
  }

  absl::StatusOr<std::string> Submit() {
    absl::StatusOr<star::v1::JobSpec> spec =
        ParseJobYaml(absl::StrFormat(kJob, STAR_SOURCE_DIR, STAR_SOURCE_DIR), "fault-job");
    if (!spec.ok()) return spec.status();
    star::v1::SubmitJobRequest request;
    *request.mutable_spec() = *spec;
    star::v1::SubmitJobResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = jobs_->SubmitJob(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response.job_id();
  }

  // The job's status; kUnavailable while the coordinator does not answer.
  absl::StatusOr<star::v1::JobStatus> Job(const std::string& id) {
    star::v1::GetJobRequest request;
    request.set_job_id(id);
    star::v1::JobStatus status;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status rpc = jobs_->GetJob(&context, request, &status);
    if (!rpc.ok()) return FromGrpcStatus(rpc);
    return status;
  }

  // Polls the job until `condition` holds (returns that status) or the job ends without it.
  template <typename Condition>
  absl::StatusOr<star::v1::JobStatus> WaitFor(const std::string& id, Condition condition,
                                              const std::string& what) {
    const absl::Time deadline = absl::Now() + kJobTimeout;
    while (absl::Now() < deadline) {
      absl::StatusOr<star::v1::JobStatus> s = Job(id);
      if (s.ok() && condition(*s)) return s;
      if (s.ok() && Ended(*s)) {
        return absl::FailedPreconditionError(
            absl::StrCat("job ended before ", what, ": ", s->ShortDebugString(), Logs()));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::DeadlineExceededError(absl::StrCat("waiting for ", what, Logs()));
  }

  absl::StatusOr<star::v1::JobStatus> WaitForEnd(const std::string& id) {
    return WaitFor(id, Ended, "its end");
  }

  // WaitForEnd, then kFailedPrecondition with the error and every log unless it succeeded.
  absl::StatusOr<star::v1::JobStatus> WaitForSuccess(const std::string& id) {
    absl::StatusOr<star::v1::JobStatus> end = WaitForEnd(id);
    if (end.ok() && end->state() != star::v1::JOB_STATE_SUCCEEDED) {
      return absl::FailedPreconditionError(absl::StrCat("job ", id, " ended ",
                                                        star::v1::JobState_Name(end->state()), ": ",
                                                        end->error(), Logs()));
    }
    return end;
  }

  void KillCoordinator() { Kill(*coordinator_); }
  void KillWorker(int i) { Kill(*workers_[i]); }
  void KillTrainer(int i) { Kill(*trainers_[i]); }

  // `star export` of an iteration's accepted rationales (JSON Lines).
  std::string Export(int iteration) {
    const std::string out = File(absl::StrCat("export-", iteration, ".jsonl"));
    TempDir scratch;
    auto [status, output] = RunCommand({BinaryPath("star"), "export", "--state-dir", state(),
                                        "--iteration", absl::StrCat(iteration), "--output", out},
                                       scratch);
    EXPECT_EQ(status, 0) << output;
    return ReadFile(out);
  }

  std::string Model(const std::string& job, int n) const {
    return absl::StrCat(state(), "/jobs/", job, "/models/m", n, "/model.safetensors");
  }
  std::string state() const { return File("state"); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string WorkerLog(int i) const { return File(absl::StrCat("worker-", i, ".log")); }
  std::string TrainerLog(int i, int start) const {
    return File(absl::StrCat("trainer-t", i, "-", start, ".log"));
  }

  // Every log, for failure messages.
  std::string Logs() const {
    std::string all;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (entry.path().extension() == ".log") {
        std::string text = ReadFile(entry.path());
        if (text.size() > 6000) text = "..." + text.substr(text.size() - 6000);
        absl::StrAppend(&all, "\n==== ", entry.path().filename().string(), "\n", text);
      }
    }
    return all;
  }

 private:
  std::string File(const std::string& name) const { return dir_ + "/" + name; }
  // `argv` with the data roots every process of the run shares: the run's folder and the
  // source tree (the example model's config and tokenizer).
  std::vector<std::string> WithDataRoots(std::vector<std::string> argv) const {
    argv.insert(argv.end(), {"--data-root", dir_, "--data-root", STAR_SOURCE_DIR});
    return argv;
  }
  static void Kill(ChildProcess& process) {
    process.Signal(SIGKILL);
    (void)process.Wait(absl::Seconds(10));
  }

  const std::string dir_;
  int port_ = 0;
  int coordinator_starts_ = 0;
  std::map<int, int> trainer_starts_;
  std::unique_ptr<ChildProcess> coordinator_;
  std::map<int, std::unique_ptr<ChildProcess>> workers_;
  std::map<int, std::unique_ptr<ChildProcess>> trainers_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<star::v1::Jobs::Stub> jobs_;
};

// Iteration 1's training round has made steps and is not over.
bool TrainingIterationOne(const star::v1::JobStatus& s) {
  return s.iteration() == 1 && s.phase() == star::v1::PHASE_TRAIN && s.train_step() >= 1 &&
         s.train_step() < s.train_steps();
}

// What a run produced, for comparison with the fault-free one.
struct Outcome {
  std::string accepted_1;
  std::string accepted_2;
  std::string m1;
  std::string m2;
  std::string accuracy;  // every iteration's accuracy per bucket
};

std::string AccuracyText(const star::v1::JobStatus& status) {
  std::string out;
  for (const auto& r : status.results()) {
    for (const auto& b : r.accuracy()) {
      absl::StrAppendFormat(&out, "i%d %s %d/%d; ", r.iteration(), b.bucket(), b.correct(), b.total());
    }
  }
  return out;
}

Outcome Collect(Cluster& cluster, const std::string& job, const star::v1::JobStatus& status) {
  return Outcome{cluster.Export(1), cluster.Export(2), ReadFile(cluster.Model(job, 1)),
                 ReadFile(cluster.Model(job, 2)), AccuracyText(status)};
}

class FaultRecoveryTest : public ::testing::Test {
 protected:
  // The fault-free run, made once per build of the daemons and shared by the tests (each runs
  // in a process of its own): kept under the build tree, keyed by the binaries' times, made
  // under a file lock by whichever test comes first.
  static void SetUpTestSuite() {
    std::string key;
    for (const char* binary : {"star-coordinator", "star-worker", "star-trainer", "star"}) {
      absl::StrAppend(&key, std::filesystem::last_write_time(BinaryPath(binary))
                                .time_since_epoch()
                                .count() % 1000000007, "-");
    }
    const std::string root = BinaryPath("fault-reference");
    std::filesystem::create_directories(root);
    int lock = ::open((root + "/lock").c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(lock, 0);
    ASSERT_EQ(::flock(lock, LOCK_EX), 0);
    reference_dir_ = new std::string(root + "/" + key);
    if (!std::filesystem::exists(*reference_dir_ + "/complete")) {
      for (const auto& entry : std::filesystem::directory_iterator(root)) {
        if (entry.is_directory()) std::filesystem::remove_all(entry.path());
      }
      std::filesystem::create_directories(*reference_dir_);
      Cluster cluster(*reference_dir_);
      absl::StatusOr<std::string> job = cluster.StartAndSubmit();
      ASSERT_TRUE(job.ok()) << job.status();
      absl::StatusOr<star::v1::JobStatus> end = cluster.WaitForSuccess(*job);
      ASSERT_TRUE(end.ok()) << end.status();
      ASSERT_EQ(*job, "fault-1");
      cluster.Export(1);
      cluster.Export(2);
      std::ofstream(*reference_dir_ + "/accuracy.txt") << AccuracyText(*end);
      std::ofstream(*reference_dir_ + "/complete") << "ok\n";
    }
    ::close(lock);
    const std::string& ref = *reference_dir_;
    reference_ = new Outcome{ReadFile(ref + "/export-1.jsonl"), ReadFile(ref + "/export-2.jsonl"),
                             ReadFile(ref + "/state/jobs/fault-1/models/m1/model.safetensors"),
                             ReadFile(ref + "/state/jobs/fault-1/models/m2/model.safetensors"),
                             ReadFile(ref + "/accuracy.txt")};
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete reference_dir_;
  }
  void SetUp() override {
    ASSERT_NE(reference_, nullptr) << "the fault-free run failed";
    ASSERT_FALSE(reference_->accepted_1.empty()) << "the fault-free run accepted nothing";
  }

  // The checks shared by the faults that must not change the outcome at all.
  void ExpectSameAsFaultFree(const Outcome& outcome) {
    EXPECT_EQ(outcome.accepted_1, reference_->accepted_1);
    EXPECT_EQ(outcome.accepted_2, reference_->accepted_2);
    EXPECT_EQ(outcome.accuracy, reference_->accuracy);
    ASSERT_FALSE(outcome.m1.empty());
    EXPECT_TRUE(outcome.m1 == reference_->m1) << "m1 differs from the fault-free run's";
    EXPECT_TRUE(outcome.m2 == reference_->m2) << "m2 differs from the fault-free run's";
  }

  static std::string* reference_dir_;
  static Outcome* reference_;
};

std::string* FaultRecoveryTest::reference_dir_ = nullptr;
Outcome* FaultRecoveryTest::reference_ = nullptr;

TEST_F(FaultRecoveryTest, CoordinatorKilledDuringGenerationResumesWithoutRedoingFinishedShards) {
  TempDir dir;
  Cluster cluster(dir);
  absl::StatusOr<std::string> job = cluster.StartAndSubmit();
  ASSERT_TRUE(job.ok()) << job.status();
  absl::StatusOr<star::v1::JobStatus> mid = cluster.WaitFor(
      *job,
      [](const star::v1::JobStatus& s) {
        return s.iteration() == 1 && s.phase() == star::v1::PHASE_GENERATE && s.shards_done() >= 3 &&
               s.shards_done() < s.shards_total();
      },
      "iteration 1 generating with 3 shards done");
  ASSERT_TRUE(mid.ok()) << mid.status();
  cluster.KillCoordinator();
  absl::Status restarted = cluster.StartCoordinator();
  ASSERT_TRUE(restarted.ok()) << restarted << cluster.Logs();
  absl::StatusOr<star::v1::JobStatus> end = cluster.WaitForSuccess(*job);
  ASSERT_TRUE(end.ok()) << end.status();
  // The restarted coordinator took the pass up with the shards acknowledged before the kill.
  const std::string log = ReadFile(dir.File("coordinator-2.log"));
  EXPECT_NE(log.find("resuming job " + *job), std::string::npos) << log;
  size_t at = log.find("resuming a pass with ");
  ASSERT_NE(at, std::string::npos) << log;
  int resumed_done = 0;
  ASSERT_TRUE(absl::SimpleAtoi(log.substr(at + 21, log.find(' ', at + 21) - at - 21), &resumed_done));
  EXPECT_GE(resumed_done, 3) << log;
  ExpectSameAsFaultFree(Collect(cluster, *job, *end));
}

TEST_F(FaultRecoveryTest, CoordinatorKilledDuringATrainingRoundReRunsTheRound) {
  TempDir dir;
  Cluster cluster(dir);
  absl::StatusOr<std::string> job = cluster.StartAndSubmit();
  ASSERT_TRUE(job.ok()) << job.status();
  absl::StatusOr<star::v1::JobStatus> mid =
      cluster.WaitFor(*job, TrainingIterationOne, "iteration 1 training");
  ASSERT_TRUE(mid.ok()) << mid.status();
  cluster.KillCoordinator();
  absl::Status restarted = cluster.StartCoordinator();
  ASSERT_TRUE(restarted.ok()) << restarted << cluster.Logs();
  absl::StatusOr<star::v1::JobStatus> end = cluster.WaitForSuccess(*job);
  ASSERT_TRUE(end.ok()) << end.status();
  // The round of the second coordinator (epoch 2) trained m1.
  std::string trainers = ReadFile(cluster.TrainerLog(0, 1)) + ReadFile(cluster.TrainerLog(1, 1));
  EXPECT_NE(trainers.find("round " + *job + "-i1-e2-round1 done"), std::string::npos) << trainers;
  // The dead coordinator's round: either done before the new coordinator answered, or stopped
  // on every rank as soon as a progress report came back NOT_FOUND; then its report is not
  // retried once the new coordinator has said it does not know it.
  const std::string old_round = "round " + *job + "-i1-e1-round1";
  if (trainers.find(old_round + " done") == std::string::npos) {
    EXPECT_NE(trainers.find(old_round + " is unknown to the coordinator (restarted?): stopping it"),
              std::string::npos)
        << trainers;
    EXPECT_NE(trainers.find(old_round + " failed: ABORTED: stopped before step"), std::string::npos)
        << trainers;
    // A report is retried while the coordinator is unreachable, never once it said NOT_FOUND.
    const std::string refused = "cannot report " + old_round + ": NOT_FOUND";
    size_t reports = 0;
    for (size_t at = trainers.find(refused); at != std::string::npos;
         at = trainers.find(refused, at + 1)) {
      ++reports;
    }
    EXPECT_LE(reports, 2u) << "at most one NOT_FOUND per rank\n" << trainers;
  }
  ExpectSameAsFaultFree(Collect(cluster, *job, *end));
}

TEST_F(FaultRecoveryTest, WorkerKilledHoldingALeaseLosesTheShardToTheOtherWorker) {
  TempDir dir;
  Cluster cluster(dir);
  absl::StatusOr<std::string> job = cluster.StartAndSubmit();
  ASSERT_TRUE(job.ok()) << job.status();
  // Worker 1 holds a lease of iteration 1's generation pass.
  const std::string marker = *job + "-i1-gen-";
  std::string leased;
  const absl::Time deadline = absl::Now() + kJobTimeout;
  while (leased.empty() && absl::Now() < deadline) {
    for (const std::string& line : std::vector<std::string>(absl::StrSplit(ReadFile(cluster.WorkerLog(1)), '\n'))) {
      size_t at = line.find("shard " + marker);
      if (at != std::string::npos && line.find(" leased (") != std::string::npos) {
        leased = line.substr(at + 6, line.find(" leased (") - at - 6);
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_FALSE(leased.empty()) << cluster.Logs();
  cluster.KillWorker(1);
  const std::string killed_log = ReadFile(cluster.WorkerLog(1));
  absl::StatusOr<star::v1::JobStatus> end = cluster.WaitForSuccess(*job);
  ASSERT_TRUE(end.ok()) << end.status();
  // Leased when killed, never submitted by it; the surviving worker did it after the lease ran out.
  EXPECT_EQ(killed_log.find("shard " + leased + ": "), std::string::npos) << killed_log;
  EXPECT_NE(ReadFile(cluster.WorkerLog(0)).find("shard " + leased + ": "), std::string::npos);
  ExpectSameAsFaultFree(Collect(cluster, *job, *end));
}

// || a - b || / || b - base ||: how far apart two models trained from `base` are, relative to
// how far training moved `b`, over all float32 tensors (L2 norms); -1 when the files cannot be
// read or their tensors differ in names or shapes.
double RelativeDistance(const std::string& a_path, const std::string& b_path,
                        const std::string& base_path) {
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> a = SafetensorsFile::Open(a_path);
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> b = SafetensorsFile::Open(b_path);
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> base = SafetensorsFile::Open(base_path);
  if (!a.ok() || !b.ok() || !base.ok()) return -1;
  if ((*a)->tensors().size() != (*b)->tensors().size()) return -1;
  double apart = 0, moved = 0;
  for (const TensorView& ta : (*a)->tensors()) {
    const TensorView* tb = (*b)->Find(ta.name);
    const TensorView* t0 = (*base)->Find(ta.name);
    if (tb == nullptr || t0 == nullptr || tb->shape != ta.shape || t0->shape != ta.shape ||
        ta.dtype != TensorDtype::kF32) {
      return -1;
    }
    const float* x = reinterpret_cast<const float*>(ta.data);
    const float* y = reinterpret_cast<const float*>(tb->data);
    const float* z = reinterpret_cast<const float*>(t0->data);
    for (size_t i = 0; i < ta.size_bytes / sizeof(float); ++i) {
      apart += static_cast<double>(x[i] - y[i]) * (x[i] - y[i]);
      moved += static_cast<double>(y[i] - z[i]) * (y[i] - z[i]);
    }
  }
  return moved > 0 ? std::sqrt(apart / moved) : -1;
}

TEST_F(FaultRecoveryTest, TrainerRankKilledDuringARoundIsReplacedByARoundOfTheRanksAlive) {
  TempDir dir;
  Cluster cluster(dir);
  absl::StatusOr<std::string> job = cluster.StartAndSubmit();
  ASSERT_TRUE(job.ok()) << job.status();
  absl::StatusOr<star::v1::JobStatus> mid =
      cluster.WaitFor(*job, TrainingIterationOne, "iteration 1 training");
  ASSERT_TRUE(mid.ok()) << mid.status();
  const absl::Time killed = absl::Now();
  cluster.KillTrainer(1);
  // The survivor notices the dead peer and starts the re-run round alone: the time to that line
  // is the recovery (the re-run's own training is not part of it).
  const std::string rerun_line = "round " + *job + "-i1-e1-round2: rank 0 of 1";
  absl::Duration recovery = absl::InfiniteDuration();
  for (const absl::Time deadline = killed + absl::Minutes(5); absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(50))) {
    if (ReadFile(cluster.TrainerLog(0, 1)).find(rerun_line) != std::string::npos) {
      recovery = absl::Now() - killed;
      break;
    }
  }
  // Once the round of one trains, t1 comes back for the next round.
  absl::StatusOr<star::v1::JobStatus> rerun = cluster.WaitFor(
      *job, [](const star::v1::JobStatus& s) { return s.phase() == star::v1::PHASE_EVALUATE && s.iteration() == 1; },
      "iteration 1 evaluating");
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  ASSERT_TRUE(cluster.StartTrainer(1).ok());
  absl::StatusOr<star::v1::JobStatus> end = cluster.WaitForSuccess(*job);
  ASSERT_TRUE(end.ok()) << end.status();

  const std::string survivor = ReadFile(cluster.TrainerLog(0, 1));
  // Failed fast: within the 10 s collective timeout plus the coordinator's re-forming of the round.
  EXPECT_LT(recovery, absl::Seconds(30)) << survivor;
  EXPECT_NE(survivor.find("round " + *job + "-i1-e1-round1 failed"), std::string::npos) << survivor;
  EXPECT_NE(survivor.find(rerun_line), std::string::npos) << survivor;
  // The restarted rank took part in iteration 2's round of two.
  const std::string back = ReadFile(cluster.TrainerLog(1, 2));
  EXPECT_NE(back.find("round " + *job + "-i2-e1-round1: rank 1 of 2"), std::string::npos) << back;
  EXPECT_NE(back.find("round " + *job + "-i2-e1-round1 done"), std::string::npos) << back;

  // Iteration 1 generated with M0, before the fault: the same accepted set. Its model was
  // trained by one rank on the same global batches instead of two: the same training up to
  // float rounding (summed over two ranks or not), which Adam amplifies a little over the steps.
  EXPECT_EQ(cluster.Export(1), reference_->accepted_1);
  const std::string models = *reference_dir_ + "/state/jobs/" + *job + "/models/";
  const double distance = RelativeDistance(cluster.Model(*job, 1), models + "m1/model.safetensors",
                                           models + "m0/model.safetensors");
  EXPECT_GE(distance, 0);
  EXPECT_LT(distance, 0.05) << "|m1 - reference m1| / |reference m1 - m0|";
  std::fprintf(stderr, "relative distance to the fault-free m1: %g\n", distance);
}

}  // namespace
}  // namespace star
