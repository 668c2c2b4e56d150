// `star run` end to end on the smoke job: a real coordinator, workers and two trainer ranks run
// the seed stage and the STaR iterations (generate with rationalization, train from M0,
// evaluate) and the results are written; the kept rationales verify and carry no hint, a length
// M0 is weak on is learned, and a second run gives the same table and models.

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

// The smoke job's shape (examples/addition-smoke.yaml): trained lengths 1..kLengths, the
// longest of them seeded with a few reference scratchpads only, kIterations STaR iterations.
constexpr int kLengths = 3;
constexpr int kIterations = 2;

// Runs the smoke job into `state`; returns the output, or fails the test.
std::string RunSmokeJob(const TempDir& dir, const std::string& state) {
  // The job file names the example model files relative to the source tree.
  std::string cwd = std::filesystem::current_path();
  std::filesystem::current_path(STAR_SOURCE_DIR);
  auto [status, output] = RunCommand({BinaryPath("star"), "run", "examples/addition-smoke.yaml",
                                      "--state-dir", state},
                                     dir, absl::Seconds(900));
  std::filesystem::current_path(cwd);
  EXPECT_EQ(status, 0) << output << ReadFile(state + "/coordinator.log");
  return output;
}

// results.csv without its timing columns (generate, train and evaluate seconds), which differ
// from run to run.
std::string ResultsWithoutTimings(const std::string& csv) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (fields.size() < 12) return csv;
    fields.erase(fields.begin() + 9, fields.begin() + 12);
    absl::StrAppend(&out, absl::StrJoin(fields, ","), "\n");
  }
  return out;
}

TEST(StarRunTest, SmokeJobTeachesAWeakLengthAndASecondRunMatchesIt) {
  TempDir dir;
  const std::string state = dir.File("state");
  const std::string output = RunSmokeJob(dir, state);
  ASSERT_FALSE(::testing::Test::HasFailure());
  for (const char* phase : {" seed ", " generate ", " evaluate ", " done "}) {
    EXPECT_NE(output.find(phase), std::string::npos) << phase << "\n" << output;
  }
  EXPECT_NE(output.find("training questions solved (direct + rationalized"), std::string::npos)
      << output;
  std::string csv = ReadFile(state + "/results.csv");
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  // Header, then iterations 0..kIterations for operand lengths 1..kLengths.
  ASSERT_EQ(lines.size(), 1u + (kIterations + 1) * kLengths) << csv;
  // accuracy[iteration][length - 1], in percent; solved[iteration]: training questions of the
  // weak length with a kept rationale.
  std::vector<std::vector<double>> accuracy(kIterations + 1);
  std::vector<int> solved(kIterations + 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(fields.size(), 15u) << lines[i];
    EXPECT_EQ(fields[0], absl::StrCat((i - 1) / kLengths)) << lines[i];
    EXPECT_EQ(fields[1], absl::StrCat((i - 1) % kLengths + 1)) << lines[i];
    EXPECT_EQ(fields[3], "40") << lines[i];  // eval_questions_per_length
    accuracy[(i - 1) / kLengths].push_back(100.0 * std::stod(fields[2]) / 40);
    if (fields[1] == absl::StrCat(kLengths)) {
      solved[(i - 1) / kLengths] = std::stoi(fields[13]) + std::stoi(fields[14]);
    }
  }
  std::string svg = ReadFile(state + "/accuracy.svg");
  EXPECT_EQ(svg.substr(0, 4), "<svg");
  EXPECT_NE(svg.find(">1d</text>"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(ReadFile(state + "/results.json").find("\"state\": \"JOB_STATE_SUCCEEDED\""),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(state + "/jobs/smoke-1/models/m0/model.safetensors"));

  // What each iteration trained on: every kept rationale verifies against an answer computed
  // here, independently of the coordinator, and no hint ever reaches the training text.
  const AdditionTask task(AdditionFormat::kCompact);  // the smoke job's format
  int rationalized = 0;
  int kept_of_weak_length = 0;
  for (int iteration = 1; iteration <= kIterations; ++iteration) {
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
      // "AAA+BBB\n": the sum, from the digits in the prompt.
      ASSERT_TRUE(prompt.ends_with("\n")) << line;
      std::vector<std::string> operands = absl::StrSplit(prompt.substr(0, prompt.size() - 1), '+');
      ASSERT_EQ(operands.size(), 2u) << line;
      uint64_t a = 0, b = 0;
      ASSERT_TRUE(absl::SimpleAtoi(operands[0], &a)) << line;
      ASSERT_TRUE(absl::SimpleAtoi(operands[1], &b)) << line;
      Question gold{.answer = SpacedDigits(a + b, 1)};
      EXPECT_TRUE(task.Verify(gold, completion)) << line;
      const int digits = static_cast<int>(operands[0].size());
      kept_of_weak_length += digits == kLengths;
    }
  }
  EXPECT_GT(rationalized, 0) << "rationalization kept nothing";
  EXPECT_GT(kept_of_weak_length, 0) << "no rationale of the weakly seeded length was kept";
  // STaR taught: M0 is weak on the longest length (it saw only a few reference scratchpads of
  // it: at most 30% on the held-out split); each iteration's model, trained from M0 on verified
  // rationales only, solves more of the pool's questions of that length than the one before,
  // and the last model solves at least 60% of the held-out ones (docs/results.md).
  EXPECT_LE(accuracy[0][kLengths - 1], 30.0) << csv;
  for (int n = 2; n <= kIterations; ++n) EXPECT_GT(solved[n], solved[n - 1]) << "iteration " << n << "\n" << csv;
  EXPECT_GE(accuracy[kIterations][kLengths - 1], 60.0) << csv;
  EXPECT_NE(ReadFile(state + "/trainer-0.log").find("round smoke-1-i0-e1-round1 done"), std::string::npos);

  // Reproducible: a second run of the same file gives the same table and the same models.
  const std::string again = dir.File("again");
  RunSmokeJob(dir, again);
  ASSERT_FALSE(::testing::Test::HasFailure());
  EXPECT_EQ(ResultsWithoutTimings(ReadFile(again + "/results.csv")), ResultsWithoutTimings(csv));
  for (const std::string& model : {std::string("m0"), absl::StrCat("m", kIterations)}) {
    const std::string file = absl::StrCat("/jobs/smoke-1/models/", model, "/model.safetensors");
    const std::string first = ReadFile(state + file);
    EXPECT_FALSE(first.empty()) << file;
    EXPECT_TRUE(first == ReadFile(again + file)) << file << " differs between two runs";
  }
}

// A job whose prompts plus max_new_tokens cannot fit the model's context is refused when it is
// submitted, naming the field, instead of leaving workers to fail every shard.
TEST(StarRunTest, AJobThatCannotFitTheContextIsRefusedNamingTheField) {
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
                                      "--state-dir", dir.File("state"), "--data-root",
                                      STAR_SOURCE_DIR},
                                     dir, absl::Seconds(120));
  EXPECT_EQ(status, 1) << output;
  EXPECT_NE(output.find("INVALID_ARGUMENT: spec: generation.max_new_tokens 1020 plus the longest prompt"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("exceeds the model's max_position_embeddings 1024"), std::string::npos)
      << output;
}

}  // namespace
}  // namespace star
