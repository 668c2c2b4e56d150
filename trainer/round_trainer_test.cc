#include "trainer/round_trainer.h"

#include <filesystem>
#include <thread>

#include <ATen/DeviceAccelerator.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "model/cuda_devices.h"
#include "model/llama_model.h"
#include "trainer/adamw.h"
#include "trainer/round_runner.h"

namespace star {
namespace {

class RoundTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("round-test-", ::getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ModelConfig c;
    c.vocab_size = 100;
    c.hidden_size = 32;
    c.intermediate_size = 64;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 8;
    c.max_position_embeddings = 128;
    c.tie_word_embeddings = true;
    base_ = (dir_ / "base").string();
    ASSERT_TRUE(LlamaModel::RandomInit(c, 3)->Save(base_).ok());
    std::filesystem::copy_file(std::string(STAR_SOURCE_DIR) + "/examples/tiny-char-llama/tokenizer.json",
                               base_ + "/tokenizer.json");
    // Four "questions", each with a fixed "answer" to learn after it.
    for (int q = 0; q < 4; ++q) {
      examples_.push_back({{1, 10 + q, 20 + q}, {30 + q, 40 + q, 50 + q, 2}});
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  RoundOptions Options(const std::string& out) const {
    RoundOptions o;
    o.base_checkpoint = base_;
    o.output_checkpoint = (dir_ / out).string();
    o.steps = 40;
    o.learning_rate = 1e-2;
    o.warmup_steps = 5;
    o.global_batch_size = 4;
    o.seed = 7;
    return o;
  }

  // The per-step losses of a one-rank float32 Gloo round on the CPU writing `out` (empty if the
  // round failed): the reference of the GPU rounds.
  std::vector<double> CpuLossCurve(const std::string& out) const;

  std::filesystem::path dir_;
  std::string base_;
  std::vector<PromptCompletion> examples_;
};

std::unique_ptr<Collective> SingleRank();

std::vector<double> RoundTrainerTest::CpuLossCurve(const std::string& out) const {
  std::unique_ptr<Collective> collective = SingleRank();
  RoundOptions options = Options(out);
  options.precision = Precision::kFloat32;
  std::vector<double> losses;
  absl::StatusOr<RoundResult> result = RunTrainingRound(
      options, examples_, *collective, [&](int64_t, double loss) { losses.push_back(loss); });
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? losses : std::vector<double>();
}

std::unique_ptr<Collective> SingleRank() {
  CollectiveOptions options;
  options.world_size = 1;
  absl::StatusOr<StoreListener> listener = StoreListener::Bind("127.0.0.1");
  EXPECT_TRUE(listener.ok());
  options.master_port = listener->port();
  options.master_listen_fd = listener->Release();
  auto c = Collective::Create(options);
  EXPECT_TRUE(c.ok()) << c.status();
  return std::move(*c);
}

// Runs a round on two Gloo ranks (threads); rank r holds examples r and r + 2, as the
// coordinator partitions them. Fills each rank's per-step losses and returns each rank's status.
std::vector<absl::Status> RunTwoRanks(
    const RoundOptions& round, const std::vector<PromptCompletion>& examples,
    std::vector<std::vector<double>>& losses,
    const std::function<void(int rank, RoundOptions&)>& per_rank = {}) {
  absl::StatusOr<StoreListener> listener = StoreListener::Bind("127.0.0.1");
  if (!listener.ok()) return {listener.status(), listener.status()};
  const int port = listener->port();
  const int fd = listener->Release();
  losses.assign(2, {});
  std::vector<absl::Status> statuses(2);
  std::vector<std::thread> ranks;
  for (int rank = 0; rank < 2; ++rank) {
    ranks.emplace_back([&, rank] {
      CollectiveOptions options;
      options.world_size = 2;
      options.rank = rank;
      options.master_port = port;
      options.master_listen_fd = rank == 0 ? fd : -1;
      auto collective = Collective::Create(options);
      if (!collective.ok()) {
        statuses[rank] = collective.status();
        return;
      }
      std::vector<PromptCompletion> mine = {examples[rank], examples[rank + 2]};
      RoundOptions own = round;
      if (per_rank) per_rank(rank, own);
      statuses[rank] = RunTrainingRound(own, mine, **collective,
                                        [&](int64_t, double loss) { losses[rank].push_back(loss); })
                           .status();
    });
  }
  for (auto& t : ranks) t.join();
  return statuses;
}

TEST_F(RoundTrainerTest, LossFallsAndRankZeroWritesALoadableCheckpoint) {
  std::unique_ptr<Collective> collective = SingleRank();
  std::vector<double> losses;
  absl::StatusOr<RoundResult> result =
      RunTrainingRound(Options("out"), examples_, *collective,
                       [&](int64_t, double loss) { losses.push_back(loss); });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(losses.size(), 40u);
  EXPECT_LT(result->final_loss, losses.front() / 4) << "first " << losses.front();
  EXPECT_GT(result->tokens_per_second, 0);
  auto trained = LlamaModel::Load((dir_ / "out").string());
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "out" / "tokenizer.json"));
  // The base model is untouched: STaR always starts again from it.
  auto base = LlamaModel::Load(base_);
  ASSERT_TRUE(base.ok());
  EXPECT_FALSE(torch::equal((*base)->parameters()[0], (*trained)->parameters()[0]));
}

TEST_F(RoundTrainerTest, TwoGlooRanksTrainTogether) {
  std::vector<std::vector<double>> losses;
  std::vector<absl::Status> statuses = RunTwoRanks(Options("out2"), examples_, losses);
  ASSERT_TRUE(statuses[0].ok()) << statuses[0];
  ASSERT_TRUE(statuses[1].ok()) << statuses[1];
  // The reported loss is the mean over ranks: both see the same numbers.
  EXPECT_EQ(losses[0], losses[1]);
  EXPECT_LT(losses[0].back(), losses[0].front() / 4);
  EXPECT_TRUE(LlamaModel::Load((dir_ / "out2").string()).ok());
}

// Data parallelism must not change the optimisation: with every example in every global batch
// (global batch = example count, all of one length), one rank and two ranks compute the same
// averaged gradient at every step, so their loss curves agree up to float summation order.
TEST_F(RoundTrainerTest, TwoRanksFollowTheLossCurveOfOneRankWithTheSameGlobalBatch) {
  std::vector<double> single;
  {
    std::unique_ptr<Collective> collective = SingleRank();
    ASSERT_TRUE(RunTrainingRound(Options("out1"), examples_, *collective,
                                 [&](int64_t, double loss) { single.push_back(loss); })
                    .ok());
  }
  std::vector<std::vector<double>> losses;
  std::vector<absl::Status> statuses = RunTwoRanks(Options("out2"), examples_, losses);
  ASSERT_TRUE(statuses[0].ok()) << statuses[0];
  ASSERT_TRUE(statuses[1].ok()) << statuses[1];
  ASSERT_EQ(single.size(), losses[0].size());
  for (size_t step = 0; step < single.size(); ++step) {
    EXPECT_NEAR(losses[0][step], single[step], 1e-4 * std::max(1.0, single[step]))
        << "step " << step + 1;
  }
  // And the curve is a real one: training moved the loss.
  EXPECT_LT(single.back(), single.front() / 4);
}

// One rank is asked to stop after 5 steps (as when the coordinator no longer knows the round):
// both stop before the same step, neither waits for the other, and nothing is written.
TEST_F(RoundTrainerTest, AStopAskedOfOneRankStopsEveryRankAtTheSameStep) {
  std::vector<std::vector<double>> losses;
  std::vector<absl::Status> statuses =
      RunTwoRanks(Options("stopped"), examples_, losses, [&](int rank, RoundOptions& o) {
        if (rank == 1) o.stop_requested = [&losses] { return losses[1].size() >= 5; };
      });
  EXPECT_EQ(statuses[0].code(), absl::StatusCode::kAborted) << statuses[0];
  EXPECT_EQ(statuses[1].code(), absl::StatusCode::kAborted) << statuses[1];
  EXPECT_EQ(statuses[0].message(), "stopped before step 6 of 40: another rank was asked to stop");
  EXPECT_EQ(statuses[1].message(), "stopped before step 6 of 40: this rank was asked to stop");
  EXPECT_EQ(losses[0].size(), 5u);
  EXPECT_EQ(losses[1].size(), 5u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "stopped"));
}

TEST(LearningRateTest, WarmsUpThenStaysConstantOrFallsLinearly) {
  RoundOptions options;
  options.learning_rate = 1.0;
  options.warmup_steps = 4;
  options.steps = 14;
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 0), 0.25);
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 3), 1.0);
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 13), 1.0);
  options.linear_decay = true;
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 3), 1.0);
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 4), 1.0);
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 9), 0.5);
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 13), 0.1);
  options.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 0), 1.0);
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 13), 1.0 / 14);
}

TEST_F(RoundTrainerTest, NoStepsNoExamplesOrNoBaseAreRejected) {
  std::unique_ptr<Collective> collective = SingleRank();
  RoundOptions options = Options("bad");
  options.steps = 0;
  EXPECT_EQ(RunTrainingRound(options, examples_, *collective).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = Options("bad");
  EXPECT_EQ(RunTrainingRound(options, {}, *collective).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.base_checkpoint = (dir_ / "missing").string();
  EXPECT_EQ(RunTrainingRound(options, examples_, *collective).status().code(),
            absl::StatusCode::kNotFound);
}

// A round whose models lie outside this rank's data roots fails before anything is read or
// written, its report naming the field and the roots.
TEST_F(RoundTrainerTest, AnAssignedRoundOutsideTheDataRootsFailsNamingTheField) {
  std::filesystem::create_directories(dir_ / "roots");
  absl::StatusOr<PathPolicy> roots = PathPolicy::Create({(dir_ / "roots").string()});
  ASSERT_TRUE(roots.ok()) << roots.status();
  star::v1::RoundAssignment assignment;
  assignment.set_round_id("r-outside");
  assignment.set_world_size(1);
  assignment.set_steps(1);
  assignment.set_base_checkpoint(base_);
  assignment.set_output_checkpoint((dir_ / "roots" / "m1").string());
  star::v1::ReportRoundRequest report = RunAssignedRound(assignment, {}, *roots, {}, -1, {});
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.error().find("base_checkpoint: '" + base_ + "'"), std::string::npos)
      << report.error();
  EXPECT_NE(report.error().find("outside the data roots"), std::string::npos) << report.error();

  // The base inside, the output folder outside (through ..).
  std::filesystem::rename(base_, dir_ / "roots" / "base");
  assignment.set_base_checkpoint((dir_ / "roots" / "base").string());
  assignment.set_output_checkpoint((dir_ / "roots" / ".." / "m1").string());
  report = RunAssignedRound(assignment, {}, *roots, {}, -1, {});
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.error().find("output_checkpoint: "), std::string::npos) << report.error();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "m1"));
}

// A round told to compute in bfloat16 trains under autocast with float32 master weights (on the
// CPU here, as on CUDA), and writes its model in the base checkpoint's dtype.
TEST_F(RoundTrainerTest, ABf16RoundTrainsWithFloat32MasterWeightsAndKeepsTheBaseDtype) {
  std::unique_ptr<Collective> collective = SingleRank();
  RoundOptions options = Options("bf16");
  options.precision = Precision::kBFloat16;
  std::vector<double> losses;
  absl::StatusOr<RoundResult> result = RunTrainingRound(
      options, examples_, *collective, [&](int64_t, double loss) { losses.push_back(loss); });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_LT(result->final_loss, losses.front() / 4) << "first " << losses.front();
  absl::StatusOr<std::unique_ptr<LlamaModel>> trained = LlamaModel::Load((dir_ / "bf16").string());
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_EQ((*trained)->config().dtype, ModelDtype::kFloat32);
}

// The fused AdamW kernel the trainer steps with agrees with libtorch's reference AdamW.
TEST(AdamWTest, FusedStepsMatchTheReferenceOptimizer) {
  torch::manual_seed(3);
  std::vector<torch::Tensor> ours = {torch::randn({7, 5}), torch::randn({11})};
  std::vector<torch::Tensor> reference, initial;
  for (torch::Tensor& t : ours) {
    initial.push_back(t.clone());
    reference.push_back(t.clone().set_requires_grad(true));
    t.set_requires_grad(true);
  }
  AdamW fused(ours, AdamWOptions{.weight_decay = 0.1});
  torch::optim::AdamW libtorch(reference, torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  for (int step = 0; step < 6; ++step) {
    fused.ZeroGrad();
    libtorch.zero_grad();
    for (size_t i = 0; i < ours.size(); ++i) {
      torch::Tensor grad = torch::randn(ours[i].sizes());
      ours[i].mutable_grad() = grad.clone();
      reference[i].mutable_grad() = grad.clone();
    }
    fused.Step(1e-2);
    libtorch.step();
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_LT((ours[i] - reference[i]).abs().max().item<float>(), 1e-6) << "parameter " << i;
    // Six steps of 1e-2 moved every parameter.
    EXPECT_GT((ours[i] - initial[i]).abs().mean().item<float>(), 1e-3) << "parameter " << i;
  }
}

// The tolerances of a GPU round against the CPU Gloo round of the same seed, per step: float32 on
// the GPU differs from the CPU by summation order only (1e-3 of the loss, or absolute below 1);
// bfloat16 autocast rounds every matrix product to 8 bits of mantissa (about 0.4% each), and the
// differences compound over the steps, so its curve is held to 5% of the starting loss.
constexpr double kFloat32LossTolerance = 1e-3;
constexpr double kBf16LossTolerance = 0.05;

TEST_F(RoundTrainerTest, AOneRankNcclRoundOnTheGpuFollowsTheGlooCpuLossCurve) {
  if (VisibleCudaDevices() == 0) {
    GTEST_SKIP() << "no CUDA device visible: the NCCL round is compiled but cannot run here";
  }
  const std::vector<double> cpu = CpuLossCurve("cpu");
  ASSERT_FALSE(cpu.empty());
  for (Precision precision : {Precision::kFloat32, Precision::kBFloat16}) {
    CollectiveOptions nccl;
    nccl.backend = "nccl";
    absl::StatusOr<StoreListener> listener = StoreListener::Bind("127.0.0.1");
    ASSERT_TRUE(listener.ok());
    nccl.master_port = listener->port();
    nccl.master_listen_fd = listener->Release();
    absl::StatusOr<std::unique_ptr<Collective>> collective = Collective::Create(nccl);
    ASSERT_TRUE(collective.ok()) << collective.status();
    RoundOptions options = Options(absl::StrCat("gpu-", PrecisionName(precision)));
    options.device = ComputeDevice{.cuda = true, .index = 0};
    options.precision = precision;
    std::vector<double> gpu;
    absl::StatusOr<RoundResult> result = RunTrainingRound(
        options, examples_, **collective, [&](int64_t, double loss) { gpu.push_back(loss); });
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(gpu.size(), cpu.size());
    for (size_t step = 0; step < cpu.size(); ++step) {
      const double tolerance = precision == Precision::kFloat32
                                   ? kFloat32LossTolerance * std::max(1.0, cpu[step])
                                   : kBf16LossTolerance * cpu.front();
      EXPECT_NEAR(gpu[step], cpu[step], tolerance) << PrecisionName(precision) << ", step " << step + 1;
    }
    EXPECT_LT(gpu.back(), gpu.front() / 4) << PrecisionName(precision) << ": the GPU round learned";
    EXPECT_TRUE(LlamaModel::Load(options.output_checkpoint).ok());
  }
}

TEST_F(RoundTrainerTest, TwoNcclRanksOnTwoGpusFollowTheCurveOfOneRank) {
  if (VisibleCudaDevices() < 2) {
    GTEST_SKIP() << "fewer than 2 CUDA devices visible: a 2-rank NCCL round needs one per rank";
  }
  const std::vector<double> single = CpuLossCurve("one");
  ASSERT_FALSE(single.empty());
  absl::StatusOr<StoreListener> listener = StoreListener::Bind("127.0.0.1");
  ASSERT_TRUE(listener.ok());
  const int port = listener->port();
  const int fd = listener->Release();
  std::vector<std::vector<double>> losses(2);
  std::vector<absl::Status> statuses(2);
  std::vector<std::thread> ranks;
  for (int rank = 0; rank < 2; ++rank) {
    ranks.emplace_back([&, rank] {
      at::accelerator::setDeviceIndex(static_cast<c10::DeviceIndex>(rank));
      CollectiveOptions options;
      options.backend = "nccl";
      options.world_size = 2;
      options.rank = rank;
      options.master_port = port;
      options.master_listen_fd = rank == 0 ? fd : -1;
      absl::StatusOr<std::unique_ptr<Collective>> collective = Collective::Create(options);
      if (!collective.ok()) {
        statuses[rank] = collective.status();
        return;
      }
      RoundOptions own = Options("two");
      own.device = ComputeDevice{.cuda = true, .index = rank};
      own.precision = Precision::kFloat32;
      statuses[rank] = RunTrainingRound(own, examples_, **collective, [&](int64_t, double loss) {
                         losses[rank].push_back(loss);
                       }).status();
    });
  }
  for (auto& t : ranks) t.join();
  ASSERT_TRUE(statuses[0].ok()) << statuses[0];
  ASSERT_TRUE(statuses[1].ok()) << statuses[1];
  ASSERT_EQ(losses[0].size(), single.size());
  for (size_t step = 0; step < single.size(); ++step) {
    EXPECT_NEAR(losses[0][step], single[step], kFloat32LossTolerance * std::max(1.0, single[step]))
        << "step " << step + 1;
  }
}

}  // namespace
}  // namespace star
