// Multi-process tests of the binaries as a user runs them: real processes, real gRPC on
// loopback ports chosen by the OS, waits on health checks with deadlines.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/health_client.h"
#include "star/v1/jobs.grpc.pb.h"
#include "star/v1/training.grpc.pb.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::BinaryPath;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::StartCoordinator;
using ::star::testing::TempDir;

std::chrono::system_clock::time_point In(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}

// A --state-dir the coordinator cannot write ends it at startup with a message naming the path.
TEST(DaemonProcessTest, CoordinatorRefusesAStateDirItCannotCreateNamingIt) {
  TempDir dir;
  std::ofstream(dir.File("file")) << "not a directory";
  std::vector<std::string> state_dirs = {dir.File("file") + "/state"};
  // Permission bits do not stop root; as another user, an existing read-only directory too.
  if (::geteuid() != 0) {
    std::filesystem::create_directory(dir.File("read-only"));
    std::filesystem::permissions(dir.File("read-only"), std::filesystem::perms::owner_read |
                                                            std::filesystem::perms::owner_exec);
    state_dirs.push_back(dir.File("read-only"));
  }
  for (const std::string& state_dir : state_dirs) {
    auto [status, output] = RunCommand(
        {BinaryPath("star-coordinator"), "--listen", "127.0.0.1:0", "--state-dir", state_dir},
        dir, absl::Seconds(30));
    EXPECT_EQ(status, 1) << output;
    EXPECT_NE(output.find("--state-dir " + state_dir + ": cannot create " + state_dir + "/jobs"),
              std::string::npos)
        << output;
  }
}

TEST(DaemonProcessTest, CoordinatorServesHealthAndExitsZeroWithinFiveSecondsOfSigterm) {
  TempDir dir;
  absl::StatusOr<testing::RunningCoordinator> coordinator = StartCoordinator(dir);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  std::shared_ptr<grpc::Channel> channel = MakeChannel(coordinator->address);
  for (const char* service : {"", "star.v1.Coordinator", "star.v1.Training", "star.v1.Jobs"}) {
    absl::StatusOr<HealthState> state = CheckHealth(*channel, service, absl::Seconds(5));
    ASSERT_TRUE(state.ok()) << service << ": " << state.status();
    EXPECT_EQ(*state, HealthState::kServing) << service;
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir.File("state"))) << "--state-dir not created";

  // A Health/Watch stream sees SERVING now and NOT_SERVING once SIGTERM arrives.
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext watch_context;
  watch_context.set_deadline(In(absl::Seconds(20)));
  grpc::health::v1::HealthCheckRequest request;
  auto watch = health->Watch(&watch_context, request);
  grpc::health::v1::HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  absl::Time signalled = absl::Now();
  coordinator->process.Signal(SIGTERM);
  ASSERT_TRUE(watch->Read(&update)) << "watch ended without a NOT_SERVING update";
  EXPECT_EQ(update.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // A watcher that stays would hold the drain to its deadline; this one has seen enough.
  watch_context.TryCancel();
  std::optional<int> exit_status = coordinator->process.Wait(absl::Seconds(5));
  ASSERT_TRUE(exit_status.has_value()) << "still running 5 s after SIGTERM";
  EXPECT_EQ(*exit_status, 0) << ReadFile(coordinator->log_path);
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5));
  watch->Finish().ok();
  EXPECT_NE(ReadFile(coordinator->log_path).find("SIGTERM received"), std::string::npos);
}

TEST(DaemonProcessTest, InFlightLongPollFinishesOkWhenCoordinatorIsStopped) {
  TempDir dir;
  absl::StatusOr<testing::RunningCoordinator> coordinator = StartCoordinator(dir);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  std::shared_ptr<grpc::Channel> channel = MakeChannel(coordinator->address);

  grpc::Status join_status;
  absl::Duration join_took;
  std::thread trainer([&] {
    auto training = star::v1::Training::NewStub(channel);
    star::v1::JoinRoundRequest request;
    request.set_trainer_id("t-inflight");
    request.set_hostname("localhost");
    request.set_wait_ms(25000);
    star::v1::JoinRoundResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(40)));
    absl::Time start = absl::Now();
    join_status = training->JoinRound(&context, request, &response);
    join_took = absl::Now() - start;
  });
  // The call is in flight once the coordinator lists the trainer it registered.
  auto jobs = star::v1::Jobs::NewStub(channel);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  bool registered = false;
  while (!registered && absl::Now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(5)));
    star::v1::ClusterStatus cluster;
    ASSERT_TRUE(jobs->GetCluster(&context, star::v1::GetClusterRequest(), &cluster).ok());
    registered = cluster.trainers_size() == 1;
    if (!registered) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(registered);
  coordinator->process.Signal(SIGTERM);
  trainer.join();
  EXPECT_TRUE(join_status.ok()) << join_status.error_message();
  EXPECT_LT(join_took, absl::Seconds(10)) << "long-poll was not ended by the shutdown";
  std::optional<int> exit_status = coordinator->process.Wait(absl::Seconds(5));
  ASSERT_TRUE(exit_status.has_value());
  EXPECT_EQ(*exit_status, 0);
}

class EveryBinaryTest : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(EveryBinaryTest, UnknownFlagIsOneLineNamingItAndExitCode2) {
  TempDir dir;
  std::vector<std::string> argv = GetParam();
  argv[0] = BinaryPath(argv[0]);
  argv.push_back("--bogus");
  auto [status, output] = RunCommand(argv, dir);
  EXPECT_EQ(status, 2) << output;
  EXPECT_NE(output.find("unknown flag --bogus"), std::string::npos) << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
}

TEST_P(EveryBinaryTest, BadValueNamesTheFlagAndExitCode2) {
  TempDir dir;
  std::vector<std::string> argv = GetParam();
  argv[0] = BinaryPath(argv[0]);
  std::string flag = argv[0].ends_with("star-coordinator") ? "--lease-timeout-seconds"
                     : argv[0].ends_with("/star")         ? "--workers"
                                                          : "--poll-wait-ms";
  argv.push_back(flag);
  argv.push_back("-5");
  auto [status, output] = RunCommand(argv, dir);
  EXPECT_EQ(status, 2) << output;
  EXPECT_NE(output.find(flag + ": -5 is out of range"), std::string::npos) << output;
}

TEST_P(EveryBinaryTest, HelpPrintsUsageAndExitsZero) {
  TempDir dir;
  std::vector<std::string> argv = GetParam();
  argv[0] = BinaryPath(argv[0]);
  argv.push_back("--help");
  auto [status, output] = RunCommand(argv, dir);
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("Usage: "), std::string::npos) << output;
  EXPECT_NE(output.find("--help"), std::string::npos) << output;
}

INSTANTIATE_TEST_SUITE_P(Binaries, EveryBinaryTest,
                         ::testing::Values(std::vector<std::string>{"star-coordinator"},
                                           std::vector<std::string>{"star-worker"},
                                           std::vector<std::string>{"star-trainer"},
                                           std::vector<std::string>{"star", "up"}),
                         [](const auto& info) {
                           std::string name = info.param[0];
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Where a worker or a trainer rank computes is checked at start-up: a --device value of the
// wrong form, or a GPU this machine does not have, is one line naming the flag, exit code 2.
TEST(DaemonProcessTest, AWorkerOrTrainerDeviceThisMachineCannotServeIsRefusedWithExitCode2) {
  TempDir dir;
  for (const char* binary : {"star-worker", "star-trainer"}) {
    std::vector<std::pair<std::string, std::string>> cases = {
        {"tpu", "--device: 'tpu' is not cpu, cuda, cuda:N or auto"},
        {"cuda:99", "--device: 'cuda:99' asks for CUDA device 99 but this machine has "}};
    if (!testing::MachineHasGpu()) {
      cases.push_back({"cuda", "--device: 'cuda' asks for CUDA device 0 but this machine has no "
                               "CUDA device"});
    }
    for (const auto& [value, message] : cases) {
      auto [status, output] = RunCommand({BinaryPath(binary), "--device", value}, dir);
      EXPECT_EQ(status, 2) << binary << " --device " << value << ": " << output;
      EXPECT_NE(output.find(std::string(binary) + ": " + message), std::string::npos) << output;
      EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
    }
  }
}

TEST(DaemonProcessTest, StarWithoutCommandOrWithUnknownCommandExitsTwo) {
  TempDir dir;
  auto [status, output] = RunCommand({BinaryPath("star"), "frobnicate"}, dir);
  EXPECT_EQ(status, 2);
  EXPECT_NE(output.find("unknown command 'frobnicate'"), std::string::npos) << output;
  auto [bare_status, bare_output] = RunCommand({BinaryPath("star")}, dir);
  EXPECT_EQ(bare_status, 2);
  EXPECT_NE(bare_output.find("Commands:"), std::string::npos) << bare_output;
}

TEST(DaemonProcessTest, StarUpCheckStartsAHealthyClusterAndStopsItCleanly) {
  TempDir dir;
  auto [status, output] =
      RunCommand({BinaryPath("star"), "up", "--check", "--workers", "2", "--trainers", "2",
                       "--state-dir", dir.File("cluster")},
                      dir);
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("SERVING; all members registered"), std::string::npos) << output;
  std::vector<std::string> lines = absl::StrSplit(output, '\n');
  int workers = 0;
  int trainers = 0;
  for (const std::string& line : lines) {
    if (line.starts_with("worker ")) ++workers;
    if (line.starts_with("trainer ")) ++trainers;
  }
  EXPECT_EQ(workers, 2) << output;
  EXPECT_EQ(trainers, 2) << output;
  EXPECT_NE(output.find("cluster stopped cleanly"), std::string::npos) << output;
  for (const char* log : {"coordinator.log", "worker-0.log", "worker-1.log", "trainer-0.log",
                          "trainer-1.log"}) {
    EXPECT_NE(ReadFile(dir.File(std::string("cluster/") + log)).find("stopped"),
              std::string::npos)
        << log << " shows no graceful stop";
  }
}

TEST(DaemonProcessTest, StarStatusShowsRegisteredWorker) {
  TempDir dir;
  absl::StatusOr<testing::RunningCoordinator> coordinator = StartCoordinator(dir);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  absl::StatusOr<ChildProcess> worker = ChildProcess::Start(
      {BinaryPath("star-worker"), "--coordinator", coordinator->address, "--hostname",
       "status-test-host"},
      dir.File("worker.log"));
  ASSERT_TRUE(worker.ok());
  std::string output;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    auto [status, out] =
        RunCommand({BinaryPath("star"), "status", "--coordinator", coordinator->address},
                        dir);
    ASSERT_EQ(status, 0) << out;
    output = out;
    if (output.find("status-test-host") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_NE(output.find("SERVING"), std::string::npos) << output;
  EXPECT_NE(output.find("status-test-host"), std::string::npos) << output;
  EXPECT_EQ(worker->Stop(absl::Seconds(5)), 0);
  EXPECT_EQ(coordinator->process.Stop(absl::Seconds(5)), 0);
}

TEST(DaemonProcessTest, StarStatusReportsUnreachableCoordinator) {
  TempDir dir;
  // Port 1 on loopback: nothing of ours listens there.
  auto [status, output] =
      RunCommand({BinaryPath("star"), "status", "--coordinator", "127.0.0.1:1"}, dir);
  EXPECT_EQ(status, 1) << output;
  EXPECT_NE(output.find("127.0.0.1:1"), std::string::npos) << output;
  EXPECT_NE(output.find("UNAVAILABLE"), std::string::npos) << output;
}

}  // namespace
}  // namespace star
