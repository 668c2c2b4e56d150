// Real star-trainer processes form a Gloo process group through a round the coordinator (served
// from this test process) assigns, stream their examples, train data-parallel and report; rank 0
// writes the new model.

#include <filesystem>

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

TEST(TrainerProcessTest, TwoRanksTrainARoundAndRankZeroWritesTheModel) {
  TempDir dir;
  absl::StatusOr<std::string> base_dir = testing::InitExampleModel(dir, "base");
  ASSERT_TRUE(base_dir.ok()) << base_dir.status();
  const std::string base = *base_dir;

  Coordinator coordinator(CoordinatorOptions{});
  TrainingGrpcService service(&coordinator);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start("127.0.0.1:0", {{star::v1::Training::service_full_name(), &service}});
  ASSERT_TRUE(server.ok()) << server.status();

  RoundPlan plan;
  star::v1::RoundAssignment& a = plan.assignment;
  a.set_round_id("r-test");
  a.set_job_id("job");
  a.set_iteration(1);
  a.set_world_size(2);
  a.set_base_checkpoint(base);
  a.set_output_checkpoint(dir.File("trained"));
  a.set_steps(30);
  a.set_seed(5);
  a.mutable_training()->set_learning_rate(5e-3f);
  a.mutable_training()->set_warmup_steps(3);
  a.mutable_training()->set_grad_clip(1.0f);
  a.mutable_training()->set_global_batch_size(4);
  a.set_collective_timeout_ms(30000);
  AdditionTask task;
  for (const Question& q : AdditionTask::Generate(1, 8, 3, 1)) {
    star::v1::TrainingExample e;
    e.set_example_id(q.id);
    e.set_prompt(task.Prompt(q));
    e.set_completion(*AdditionTask().ReferenceCompletion(q));
    plan.examples.push_back(e);
  }
  ASSERT_TRUE(coordinator.rounds().Submit(plan).ok());

  std::vector<ChildProcess> trainers;
  for (int i = 0; i < 2; ++i) {
    std::vector<std::string> argv = {BinaryPath("star-trainer"), "--coordinator",
                                     (*server)->address(), "--hostname", "127.0.0.1",
                                     "--trainer-id", "t" + std::to_string(i), "--poll-wait-ms",
                                     "200"};
    // One rank names the CPU, the other lets --device auto choose.
    if (i == 0) argv.insert(argv.end(), {"--device", "cpu"});
    for (const std::string& flag : testing::DataRootFlags(dir)) argv.push_back(flag);
    absl::StatusOr<ChildProcess> t =
        ChildProcess::Start(argv, dir.File("trainer-" + std::to_string(i) + ".log"));
    ASSERT_TRUE(t.ok());
    trainers.push_back(std::move(*t));
  }
  std::optional<RoundProgress> progress =
      coordinator.rounds().WaitForEnd("r-test", absl::Seconds(180));
  ASSERT_TRUE(progress.has_value());
  std::string logs = ReadFile(dir.File("trainer-0.log")) + ReadFile(dir.File("trainer-1.log"));
  ASSERT_EQ(progress->state, RoundState::kSucceeded) << progress->error << "\n" << logs;
  ASSERT_EQ(progress->reports.size(), 2u);
  for (const auto& r : progress->reports) {
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.steps(), 30u);
    // Random initialisation starts near ln(100) = 4.6 per token.
    EXPECT_LT(r.final_loss(), 3.0) << logs;
    EXPECT_GT(r.tokens_per_second(), 0);
  }
  EXPECT_EQ(progress->reports[0].final_loss(), progress->reports[1].final_loss());
  EXPECT_NE(logs.find("training on cpu (--device cpu)"), std::string::npos) << logs;
  if (!testing::MachineHasGpu()) {
    EXPECT_NE(logs.find("training on cpu (--device auto)"), std::string::npos) << logs;
  }
  // A rank on the CPU makes the round a Gloo round.
  EXPECT_NE(logs.find("steps, gloo, master"), std::string::npos) << logs;
  for (ChildProcess& t : trainers) EXPECT_EQ(t.Stop(absl::Seconds(10)), 0);
  auto [gen_status, gen_out] = RunCommand({BinaryPath("star"), "generate", "--model",
                                           dir.File("trained"), "--prompt", "Input:\n3 + 4\nTarget:\n",
                                           "--max-new-tokens", "8"},
                                          dir);
  EXPECT_EQ(gen_status, 0) << gen_out;
  (*server)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace star
