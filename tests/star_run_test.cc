// `star run` end to end on the smoke job: a real coordinator, worker and two trainer ranks run
// the seed stage, two STaR iterations (generate with rationalization, train from M0, evaluate)
// and the results are written; the kept rationales verify, carry no hint, and the trained model
// beats M0.

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tasks/addition_task.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::BinaryPath;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::TempDir;

TEST(StarRunTest, SmokeJobRunsEveryPhaseAndWritesResults) {
  TempDir dir;
  std::string state = dir.File("state");
  // The job file names the example model files relative to the source tree.
  std::string cwd = std::filesystem::current_path();
  std::filesystem::current_path(STAR_SOURCE_DIR);
  auto [status, output] = RunCommand({BinaryPath("star"), "run", "examples/addition-smoke.yaml",
                                      "--state-dir", state},
                                     dir, absl::Seconds(600));
  std::filesystem::current_path(cwd);
  ASSERT_EQ(status, 0) << output << ReadFile(state + "/coordinator.log");
  for (const char* phase : {" seed ", " generate ", " evaluate ", " done "}) {
    EXPECT_NE(output.find(phase), std::string::npos) << phase << "\n" << output;
  }
  std::string csv = ReadFile(state + "/results.csv");
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  // Header, then iterations 0, 1, 2 for operand lengths 1 and 2.
  ASSERT_EQ(lines.size(), 7u) << csv;
  EXPECT_EQ(lines[1].substr(0, 4), "0,1,");
  EXPECT_EQ(lines[6].substr(0, 4), "2,2,");
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    EXPECT_EQ(fields[3], "40") << lines[i];  // eval_questions_per_length
  }
  std::string svg = ReadFile(state + "/accuracy.svg");
  EXPECT_EQ(svg.substr(0, 4), "<svg");
  EXPECT_NE(svg.find("1 digits"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(ReadFile(state + "/results.json").find("\"state\": \"JOB_STATE_SUCCEEDED\""),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(state + "/jobs/smoke-1/models/m0/model.safetensors"));

  // What each iteration trained on: every kept rationale verifies against an answer computed
  // here, independently of the coordinator, and no hint ever reaches the training text.
  AdditionTask task;
  int rationalized = 0;
  for (int iteration : {1, 2}) {
    const std::string path = absl::StrCat(state, "/jobs/smoke-1/iterations/", iteration, "/train.jsonl");
    std::vector<std::string> kept = absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty());
    ASSERT_FALSE(kept.empty()) << path;
    for (const std::string& line : kept) {
      nlohmann::json j = nlohmann::json::parse(line);
      const std::string prompt = j.at("prompt");
      const std::string completion = j.at("completion");
      EXPECT_EQ(prompt.find("Hint"), std::string::npos) << line;
      EXPECT_EQ(completion.find("Hint"), std::string::npos) << line;
      rationalized += j.at("rationalized").get<bool>();
      // "Input:\nA A + B B\nTarget:\n": the sum, from the digits in the prompt.
      std::vector<std::string> rows = absl::StrSplit(prompt, '\n');
      ASSERT_GE(rows.size(), 3u) << line;
      std::vector<std::string> operands = absl::StrSplit(rows[1], " + ");
      ASSERT_EQ(operands.size(), 2u) << line;
      uint64_t a = 0, b = 0;
      ASSERT_TRUE(absl::SimpleAtoi(absl::StrReplaceAll(operands[0], {{" ", ""}}), &a)) << line;
      ASSERT_TRUE(absl::SimpleAtoi(absl::StrReplaceAll(operands[1], {{" ", ""}}), &b)) << line;
      Question gold{.answer = SpacedDigits(a + b, 1)};
      EXPECT_TRUE(task.Verify(gold, completion)) << line;
    }
  }
  EXPECT_GT(rationalized, 0) << "rationalization kept nothing";
  // STaR worked: the last model, trained from M0 on its predecessors' verified rationales,
  // beats M0 on the held-out split.
  std::vector<double> overall;
  for (size_t i = 1; i < lines.size(); i += 2) {
    std::vector<std::string> first = absl::StrSplit(lines[i], ',');
    std::vector<std::string> second = absl::StrSplit(lines[i + 1], ',');
    overall.push_back(std::stod(first[2]) + std::stod(second[2]));
  }
  ASSERT_EQ(overall.size(), 3u);
  EXPECT_GT(overall.back(), overall.front()) << csv;
  EXPECT_NE(ReadFile(state + "/trainer-0.log").find("round smoke-1-i0-e1-round1 done"), std::string::npos);
}

// A job whose prompts plus max_new_tokens cannot fit the model's context fails at once, naming
// the field, instead of leaving workers to fail every shard.
TEST(StarRunTest, AJobThatCannotFitTheContextFailsNamingTheField) {
  TempDir dir;
  const std::string job = dir.File("job.yaml");
  std::ofstream(job) << "name: toolong\n"
                     << "task: {addition: {min_digits: 1, max_digits: 2, train_questions: 4,\n"
                     << "       eval_questions_per_length: 2, seed_max_digits: 1, seed_examples: 4}}\n"
                     << "model: {init_config: " << STAR_SOURCE_DIR
                     << "/examples/tiny-char-llama/config.json,\n"
                     << "        init_tokenizer: " << STAR_SOURCE_DIR
                     << "/examples/tiny-char-llama/tokenizer.json}\n"
                     << "generation: {max_new_tokens: 1020}\n"
                     << "training: {seed_steps: 1, world_size: 1}\n"
                     << "iterations: 1\n";
  auto [status, output] = RunCommand({BinaryPath("star"), "run", job, "--workers", "1",
                                      "--state-dir", dir.File("state")},
                                     dir, absl::Seconds(120));
  EXPECT_EQ(status, 1) << output;
  EXPECT_NE(output.find("JOB_STATE_FAILED: generation.max_new_tokens 1020 plus the longest prompt"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("exceeds the model's max_position_embeddings 1024"), std::string::npos)
      << output;
}

}  // namespace
}  // namespace star
