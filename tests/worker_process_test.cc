// The real star-worker binary against a coordinator served from this test process: it leases a
// shard, loads the checkpoint the shard names, generates, verifies, rationalizes and submits.

#include <filesystem>

#include "absl/strings/match.h"
#include "coordinator/coordinator.h"
#include "coordinator/grpc_services.h"
#include "gtest/gtest.h"
#include "service/grpc_server.h"
#include "tasks/addition_task.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::BinaryPath;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::TempDir;

TEST(WorkerProcessTest, WorkerProcessesALeasedShardAndSubmitsIt) {
  TempDir dir;
  // A random model: its answers are wrong, so every sample is rejected, and rationalization
  // (one hinted sample per wrong question) is exercised.
  absl::StatusOr<std::string> model_dir = testing::InitExampleModel(dir, "model");
  ASSERT_TRUE(model_dir.ok()) << model_dir.status();
  const std::string model = *model_dir;

  Coordinator coordinator(CoordinatorOptions{});
  CoordinatorGrpcService service(&coordinator);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start("127.0.0.1:0", {{star::v1::Coordinator::service_full_name(), &service}});
  ASSERT_TRUE(server.ok()) << server.status();

  AdditionTask task;
  star::v1::Shard shard;
  shard.set_shard_id("s-worker-test");
  shard.set_job_id("job");
  shard.set_iteration(1);
  shard.set_kind(star::v1::SHARD_KIND_GENERATE);
  shard.set_rationalize(true);
  shard.set_checkpoint_id("m0");
  shard.set_checkpoint_path(model);
  shard.mutable_task()->mutable_addition()->set_max_digits(2);
  shard.mutable_generation()->set_max_new_tokens(24);
  shard.mutable_generation()->set_batch_size(8);
  for (const Question& q : AdditionTask::Generate(2, 5, 1, 100)) {
    auto* sq = shard.add_questions();
    sq->set_question_id(q.id);
    sq->set_prompt(task.Prompt(q));
    sq->set_hinted_prompt(task.HintedPrompt(q));
    sq->set_gold_answer(q.answer);
  }
  ASSERT_TRUE(coordinator.shards().Add(shard).ok());
  // A second shard: the worker asks for it with its first submission, and gets it there.
  shard.set_shard_id("s-worker-test-2");
  ASSERT_TRUE(coordinator.shards().Add(shard).ok());

  std::vector<std::string> argv = {BinaryPath("star-worker"), "--coordinator",
                                   (*server)->address(), "--poll-wait-ms", "200", "--device", "cpu"};
  for (const std::string& flag : testing::DataRootFlags(dir)) argv.push_back(flag);
  absl::StatusOr<ChildProcess> worker = ChildProcess::Start(argv, dir.File("worker.log"));
  ASSERT_TRUE(worker.ok());
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (!coordinator.shards().AllDone() && absl::Now() < deadline) {
    ASSERT_FALSE(worker->Poll().has_value()) << ReadFile(dir.File("worker.log"));
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(coordinator.shards().AllDone()) << ReadFile(dir.File("worker.log"));
  EXPECT_EQ(worker->Stop(absl::Seconds(10)), 0);
  std::string log = ReadFile(dir.File("worker.log"));
  EXPECT_NE(log.find("generating on cpu (--device cpu)"), std::string::npos) << log;
  const size_t loaded = log.find("loaded checkpoint m0 from ");
  ASSERT_NE(loaded, std::string::npos) << log;
  EXPECT_TRUE(absl::EndsWith(log.substr(loaded, log.find('\n', loaded) - loaded), " on cpu"))
      << log;
  // Five wrong direct answers and five wrong hinted ones, all re-verified and rejected, in
  // each shard.
  EXPECT_NE(log.find("s-worker-test: 5 questions"), std::string::npos) << log;
  EXPECT_NE(log.find("s-worker-test-2: 5 questions"), std::string::npos) << log;
  EXPECT_NE(log.find("accepted 0, rejected 10"), std::string::npos) << log;
  EXPECT_NE(log.find("shard s-worker-test-2 came with the answer to the last submission"),
            std::string::npos)
      << log;
  EXPECT_EQ(*coordinator.store().AcceptedCount(), 0);
  (*server)->Shutdown(absl::Seconds(1));
}

TEST(WorkerProcessTest, ACheckpointOutsideTheWorkersDataRootsIsNotLoaded) {
  TempDir dir;
  absl::StatusOr<std::string> model = testing::InitExampleModel(dir, "model");
  ASSERT_TRUE(model.ok()) << model.status();
  std::filesystem::create_directories(dir.File("only-here"));

  Coordinator coordinator(CoordinatorOptions{});
  CoordinatorGrpcService service(&coordinator);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start("127.0.0.1:0", {{star::v1::Coordinator::service_full_name(), &service}});
  ASSERT_TRUE(server.ok()) << server.status();
  star::v1::Shard shard;
  shard.set_shard_id("s-outside");
  shard.set_job_id("job");
  shard.set_iteration(1);
  shard.set_kind(star::v1::SHARD_KIND_GENERATE);
  shard.set_checkpoint_id("m0");
  shard.set_checkpoint_path(*model);
  shard.mutable_task()->mutable_addition()->set_max_digits(2);
  shard.mutable_generation()->set_max_new_tokens(24);
  for (const Question& q : AdditionTask::Generate(2, 2, 1, 100)) {
    auto* sq = shard.add_questions();
    sq->set_question_id(q.id);
    sq->set_prompt(AdditionTask().Prompt(q));
    sq->set_gold_answer(q.answer);
  }
  ASSERT_TRUE(coordinator.shards().Add(shard).ok());

  absl::StatusOr<ChildProcess> worker = ChildProcess::Start(
      {BinaryPath("star-worker"), "--coordinator", (*server)->address(), "--poll-wait-ms", "200",
       "--data-root", dir.File("only-here")},
      dir.File("worker.log"));
  ASSERT_TRUE(worker.ok());
  const std::string expected = "shard s-outside: checkpoint_path: '" + *model + "' resolves to '" +
                               std::filesystem::canonical(*model).string() +
                               "', outside the data roots (" +
                               std::filesystem::canonical(dir.File("only-here")).string() + ")";
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (ReadFile(dir.File("worker.log")).find(expected) == std::string::npos &&
         absl::Now() < deadline) {
    ASSERT_FALSE(worker->Poll().has_value()) << ReadFile(dir.File("worker.log"));
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(worker->Stop(absl::Seconds(10)), 0);
  const std::string log = ReadFile(dir.File("worker.log"));
  EXPECT_NE(log.find(expected), std::string::npos) << log;
  EXPECT_EQ(log.find("loaded checkpoint"), std::string::npos) << log;
  // Without --device, "auto" chose: the CPU on a machine without a GPU.
  if (!testing::MachineHasGpu()) {
    EXPECT_NE(log.find("generating on cpu (--device auto)"), std::string::npos) << log;
  }
  EXPECT_FALSE(coordinator.shards().AllDone());
  EXPECT_EQ(*coordinator.store().AcceptedCount(), 0);
  (*server)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace star
