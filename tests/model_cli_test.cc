// `star init-model` and `star generate` as a user runs them.

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "process/child_process.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::BinaryPath;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::TempDir;

std::string Example(const std::string& file) {
  return std::string(STAR_SOURCE_DIR) + "/examples/tiny-char-llama/" + file;
}

TEST(ModelCliTest, InitModelWritesACheckpointThatGenerateContinues) {
  TempDir dir;
  std::string model = dir.File("model");
  auto [init_status, init_out] =
      RunCommand({BinaryPath("star"), "init-model", "--config", Example("config.json"), "--tokenizer",
           Example("tokenizer.json"), "--out", model, "--seed", "3"},
          dir);
  ASSERT_EQ(init_status, 0) << init_out;
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json"}) {
    EXPECT_TRUE(std::filesystem::exists(model + "/" + file)) << file;
  }
  auto [gen_status, gen_out] = RunCommand({BinaryPath("star"), "generate", "--model", model, "--prompt",
                                    "1 2 + 3 4", "--max-new-tokens", "8"},
                                   dir);
  ASSERT_EQ(gen_status, 0) << gen_out;
  ASSERT_FALSE(gen_out.empty());
  // Greedy is deterministic: the same command prints the same text.
  auto [again_status, again_out] = RunCommand({BinaryPath("star"), "generate", "--model", model,
                                        "--prompt", "1 2 + 3 4", "--max-new-tokens", "8"},
                                       dir);
  EXPECT_EQ(again_status, 0);
  EXPECT_EQ(again_out, gen_out);
  // Another seed is another model: its continuation differs (to this random model's tokens).
  std::string other = dir.File("other");
  ASSERT_EQ(RunCommand({BinaryPath("star"), "init-model", "--config", Example("config.json"),
                 "--tokenizer", Example("tokenizer.json"), "--out", other, "--seed", "4"},
                dir)
                .first,
            0);
  auto [other_status, other_out] = RunCommand({BinaryPath("star"), "generate", "--model", other,
                                        "--prompt", "1 2 + 3 4", "--max-new-tokens", "8"},
                                       dir);
  EXPECT_EQ(other_status, 0);
  EXPECT_NE(other_out, gen_out);
}

TEST(ModelCliTest, BadPathsAndConfigsAreNamed) {
  TempDir dir;
  auto [status, out] = RunCommand({BinaryPath("star"), "generate", "--model", dir.File("nowhere"),
                            "--prompt", "x"},
                           dir);
  EXPECT_EQ(status, 1);
  EXPECT_NE(out.find(dir.File("nowhere") + ": not a model directory"), std::string::npos) << out;

  std::string bad_config = dir.File("config.json");
  std::ofstream(bad_config) << R"({"model_type":"llama","vocab_size":100,"hidden_size":64})";
  std::tie(status, out) = RunCommand({BinaryPath("star"), "init-model", "--config", bad_config,
                               "--tokenizer", Example("tokenizer.json"), "--out", dir.File("m")},
                              dir);
  EXPECT_EQ(status, 1);
  EXPECT_NE(out.find(bad_config + ": intermediate_size is required"), std::string::npos) << out;

  std::string small = dir.File("small.json");
  std::ofstream(small) << R"({"model_type":"llama","vocab_size":10,"hidden_size":8,
      "intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2})";
  std::tie(status, out) = RunCommand({BinaryPath("star"), "init-model", "--config", small, "--tokenizer",
                               Example("tokenizer.json"), "--out", dir.File("m")},
                              dir);
  EXPECT_EQ(status, 1);
  EXPECT_NE(out.find("100 tokens do not fit"), std::string::npos) << out;

  std::tie(status, out) = RunCommand({BinaryPath("star"), "init-model", "--config", small}, dir);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("--tokenizer is required"), std::string::npos) << out;
}

}  // namespace
}  // namespace star
