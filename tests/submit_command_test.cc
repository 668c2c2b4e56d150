// `star submit` against a real coordinator process, and its --dry-run file check.

#include <csignal>
#include <filesystem>

#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "process/child_process.h"
#include "service/health_client.h"
#include "star/v1/jobs.grpc.pb.h"
#include "tests/daemon_trio.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::BinaryPath;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::StartCoordinator;
using ::star::testing::TempDir;


TEST(SubmitCommandTest, DryRunChecksTheFileWithoutAnyCoordinator) {
  TempDir dir;
  const std::string job = dir.Write("job.yaml", testing::JobWithAnEmptyModel(dir, "submitted"));
  auto [status, output] = RunCommand(
      {BinaryPath("star"), "submit", job, "--dry-run", "--coordinator", "127.0.0.1:1"}, dir);
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("job submitted: "), std::string::npos) << output;
  EXPECT_NE(output.find("is valid"), std::string::npos) << output;

  std::string bad = dir.Write("bad.yaml", "name: x\niterations: 0\n");
  auto [bad_status, bad_output] =
      RunCommand({BinaryPath("star"), "submit", bad, "--dry-run"}, dir);
  EXPECT_EQ(bad_status, 1) << bad_output;
  EXPECT_NE(bad_output.find("bad.yaml"), std::string::npos) << bad_output;
}

TEST(SubmitCommandTest, SubmitsToARunningCoordinatorAndReportsAnUnreachableOne) {
  TempDir dir;
  absl::StatusOr<testing::RunningCoordinator> coordinator = StartCoordinator(dir);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  std::string job = dir.Write("job.yaml", testing::JobWithAnEmptyModel(dir, "submitted"));
  auto [status, output] = RunCommand(
      {BinaryPath("star"), "submit", job, "--coordinator", coordinator->address}, dir);
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("job submitted-1 submitted to " + coordinator->address),
            std::string::npos)
      << output;
  // The coordinator knows it. (How the coordinator stops is not this test's subject: the
  // process is killed when `coordinator` goes out of scope.)
  auto jobs = star::v1::Jobs::NewStub(MakeChannel(coordinator->address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  star::v1::GetJobRequest get;
  get.set_job_id("submitted-1");
  star::v1::JobStatus known;
  ASSERT_TRUE(jobs->GetJob(&context, get, &known).ok());
  EXPECT_EQ(known.spec().name(), "submitted");
  EXPECT_EQ(known.spec().model().base_checkpoint(),
            std::filesystem::canonical(dir.File("empty-model")).string());

  auto [down_status, down_output] =
      RunCommand({BinaryPath("star"), "submit", job, "--coordinator", "127.0.0.1:1"}, dir);
  EXPECT_EQ(down_status, 1) << down_output;
  EXPECT_NE(down_output.find("127.0.0.1:1"), std::string::npos) << down_output;
  EXPECT_NE(down_output.find("UNAVAILABLE"), std::string::npos) << down_output;
}

// `star watch` follows the coordinator's most recent job to its end and `star status` lists it.
// This job fails at once (its base model does not exist), which both must report.
TEST(SubmitCommandTest, WatchAndStatusShowTheCoordinatorsJobs) {
  TempDir dir;
  absl::StatusOr<testing::RunningCoordinator> coordinator = StartCoordinator(dir);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  const std::string job = dir.Write("job.yaml", testing::JobWithAnEmptyModel(dir, "submitted"));
  auto [status, output] =
      RunCommand({BinaryPath("star"), "submit", job, "--coordinator", coordinator->address}, dir);
  ASSERT_EQ(status, 0) << output;
  auto [watch_status, watch_output] = RunCommand(
      {BinaryPath("star"), "watch", "--coordinator", coordinator->address}, dir);
  EXPECT_EQ(watch_status, 1) << watch_output;
  EXPECT_NE(watch_output.find("job submitted-1 on " + coordinator->address), std::string::npos)
      << watch_output;
  const std::string missing_config =
      std::filesystem::canonical(dir.File("empty-model")).string() + "/config.json";
  EXPECT_NE(watch_output.find("job ended JOB_STATE_FAILED: " + missing_config),
            std::string::npos)
      << watch_output;
  auto [status_status, status_output] = RunCommand(
      {BinaryPath("star"), "status", "--coordinator", coordinator->address}, dir);
  EXPECT_EQ(status_status, 0) << status_output;
  EXPECT_NE(status_output.find("jobs: 1"), std::string::npos) << status_output;
  EXPECT_NE(status_output.find("submitted-1 JOB_STATE_FAILED"), std::string::npos) << status_output;
  EXPECT_NE(status_output.find("error: " + missing_config), std::string::npos)
      << status_output;

  auto [unknown_status, unknown_output] = RunCommand(
      {BinaryPath("star"), "watch", "--coordinator", coordinator->address, "--job", "nope-7"}, dir);
  EXPECT_EQ(unknown_status, 1) << unknown_output;
  EXPECT_NE(unknown_output.find("nope-7"), std::string::npos) << unknown_output;
}


// Waits up to `timeout` for `text` to appear in the file at `path`.
bool WaitForText(const std::string& path, const std::string& text, absl::Duration timeout) {
  for (absl::Time deadline = absl::Now() + timeout; absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(100))) {
    if (ReadFile(path).find(text) != std::string::npos) return true;
  }
  return false;
}

// A coordinator that stops answering without closing its connections (SIGSTOP: the kernel keeps
// the TCP connection up, as in a network partition). `star watch` notices the silence, opens the
// stream again once the coordinator is back and follows the job to its end; when the silence
// lasts, it gives up instead of waiting forever.
TEST(SubmitCommandTest, WatchSurvivesASilentCoordinatorAndGivesUpOnOneThatStaysSilent) {
  TempDir dir;
  absl::StatusOr<testing::RunningCoordinator> coordinator = StartCoordinator(dir);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  // No trainer rank ever joins, so the job stays in its seed stage until it is cancelled.
  auto [status, output] =
      RunCommand({BinaryPath("star"), "submit", dir.Write("job.yaml", testing::TinyJobYaml()),
                  "--coordinator", coordinator->address},
                 dir);
  ASSERT_EQ(status, 0) << output;
  const std::vector<std::string> watch = {BinaryPath("star"), "watch", "--coordinator",
                                          coordinator->address, "--stall-seconds", "2"};

  // Silent for good: gives up after --give-up-seconds.
  {
    std::vector<std::string> argv = watch;
    argv.insert(argv.end(), {"--give-up-seconds", "5"});
    absl::StatusOr<ChildProcess> watcher = ChildProcess::Start(argv, dir.File("give-up.log"));
    ASSERT_TRUE(watcher.ok()) << watcher.status();
    ASSERT_TRUE(WaitForText(dir.File("give-up.log"), "seed", absl::Seconds(20)))
        << ReadFile(dir.File("give-up.log"));
    coordinator->process.Signal(SIGSTOP);
    std::optional<int> exited = watcher->Wait(absl::Seconds(30));
    coordinator->process.Signal(SIGCONT);
    const std::string log = ReadFile(dir.File("give-up.log"));
    ASSERT_TRUE(exited.has_value()) << "star watch still waits on a silent coordinator\n" << log;
    EXPECT_EQ(*exited, 1) << log;
    EXPECT_NE(log.find("lost the coordinator's stream (nothing heard from the coordinator for 2s); reconnecting"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("gave up following job scrape-1: nothing heard from the coordinator for"),
              std::string::npos)
        << log;
  }

  // Silent for a while: reconnects and follows the job to its end.
  absl::StatusOr<ChildProcess> watcher = ChildProcess::Start(watch, dir.File("reconnect.log"));
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  ASSERT_TRUE(WaitForText(dir.File("reconnect.log"), "seed", absl::Seconds(20)))
      << ReadFile(dir.File("reconnect.log"));
  coordinator->process.Signal(SIGSTOP);
  const bool noticed = WaitForText(dir.File("reconnect.log"), "reconnecting", absl::Seconds(20));
  coordinator->process.Signal(SIGCONT);
  ASSERT_TRUE(noticed) << ReadFile(dir.File("reconnect.log"));
  EXPECT_EQ(watcher->Poll(), std::nullopt) << ReadFile(dir.File("reconnect.log"));
  auto jobs = star::v1::Jobs::NewStub(MakeChannel(coordinator->address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  star::v1::CancelJobRequest cancel;
  cancel.set_job_id("scrape-1");
  star::v1::JobStatus cancelled;
  ASSERT_TRUE(jobs->CancelJob(&context, cancel, &cancelled).ok());
  std::optional<int> exited = watcher->Wait(absl::Seconds(60));
  const std::string log = ReadFile(dir.File("reconnect.log"));
  ASSERT_TRUE(exited.has_value()) << log;
  EXPECT_EQ(*exited, 1) << log;  // a cancelled job is not a success
  EXPECT_NE(log.find("job ended JOB_STATE_CANCELLED"), std::string::npos) << log;
  EXPECT_EQ(log.find("gave up"), std::string::npos) << log;
}

// `star cancel` stops a running job: this one waits in its seed stage for a trainer rank that
// never comes, until it is cancelled.
TEST(SubmitCommandTest, CancelStopsARunningJobAndRefusesAnEndedOne) {
  TempDir dir;
  absl::StatusOr<testing::RunningCoordinator> coordinator = StartCoordinator(dir);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  const std::string examples = std::string(STAR_SOURCE_DIR) + "/examples/";
  const std::string job = dir.Write(
      "waits.yaml", "name: waits\n"
                    "task: {addition: {min_digits: 1, max_digits: 1, train_questions: 4,\n"
                    "       eval_questions_per_length: 2, seed_max_digits: 1, seed_examples: 4}}\n"
                    "model: {init_config: " + examples + "tiny-char-llama/config.json,\n"
                    "        init_tokenizer: " + examples + "tiny-char-llama/tokenizer.json}\n"
                    "training: {seed_steps: 1, world_size: 1}\niterations: 1\n");
  auto [status, output] =
      RunCommand({BinaryPath("star"), "submit", job, "--coordinator", coordinator->address}, dir);
  ASSERT_EQ(status, 0) << output;
  auto jobs = star::v1::Jobs::NewStub(MakeChannel(coordinator->address));
  star::v1::JobStatus known;
  for (int i = 0; i < 100 && known.phase() != star::v1::PHASE_SEED; ++i) {
    grpc::ClientContext context;
    star::v1::GetJobRequest get;
    get.set_job_id("waits-1");
    ASSERT_TRUE(jobs->GetJob(&context, get, &known).ok());
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(known.state(), star::v1::JOB_STATE_RUNNING);

  auto [cancelled, cancel_output] = RunCommand(
      {BinaryPath("star"), "cancel", "waits-1", "--coordinator", coordinator->address}, dir);
  EXPECT_EQ(cancelled, 0) << cancel_output;
  EXPECT_NE(cancel_output.find("job waits-1: cancellation requested"), std::string::npos) << cancel_output;
  EXPECT_NE(cancel_output.find("job waits-1: JOB_STATE_CANCELLED"), std::string::npos) << cancel_output;

  // Cancelling it again is harmless: it ended CANCELLED. A job that ended otherwise says so,
  // and an unknown job is named.
  auto [again, again_output] = RunCommand(
      {BinaryPath("star"), "cancel", "waits-1", "--coordinator", coordinator->address}, dir);
  EXPECT_EQ(again, 0) << again_output;
  const std::string failing = dir.Write("fails.yaml", testing::JobWithAnEmptyModel(dir, "fails"));
  auto [submitted, submit_output] = RunCommand(
      {BinaryPath("star"), "submit", failing, "--watch", "--coordinator", coordinator->address}, dir);
  ASSERT_NE(submit_output.find("JOB_STATE_FAILED"), std::string::npos) << submit_output;
  auto [ended, ended_output] = RunCommand(
      {BinaryPath("star"), "cancel", "fails-2", "--coordinator", coordinator->address}, dir);
  EXPECT_EQ(ended, 1) << ended_output;
  EXPECT_NE(ended_output.find("job fails-2 had already ended: JOB_STATE_FAILED"), std::string::npos)
      << ended_output;
  auto [unknown, unknown_output] = RunCommand(
      {BinaryPath("star"), "cancel", "nosuch-1", "--coordinator", coordinator->address}, dir);
  EXPECT_EQ(unknown, 1) << unknown_output;
  EXPECT_NE(unknown_output.find("job_id 'nosuch-1' is unknown"), std::string::npos) << unknown_output;
  auto [usage, usage_output] = RunCommand({BinaryPath("star"), "cancel"}, dir);
  EXPECT_EQ(usage, 2) << usage_output;
  EXPECT_NE(usage_output.find("JOB_ID"), std::string::npos) << usage_output;
}

}  // namespace
}  // namespace star
