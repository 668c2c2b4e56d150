// `star run` on the examples of the file tasks: the math job (GSM8K's format) and the
// multiple-choice job (CommonsenseQA's format) run through a real coordinator, workers and a
// trainer rank with a tiny model trained from scratch; then a math job starts from the first
// job's M0 as a base checkpoint, prompted with few-shot exemplars. Every kept rationale's answer
// is checked here against the question files, by a verifier written independently of the task
// code; no hint and no exemplar reaches training text; the table and the picture are written.

#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::BinaryPath;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::TempDir;

using Json = nlohmann::json;

constexpr int kIterations = 2;  // both example jobs

std::vector<Json> JsonLines(const std::string& path) {
  std::vector<Json> lines;
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    lines.push_back(Json::parse(line));
  }
  return lines;
}

std::string Example(const std::string& name) { return absl::StrCat(STAR_SOURCE_DIR, "/examples/", name); }

// Runs `job` (a path, or one relative to the source tree) into `state`; returns the output.
std::string RunJob(const TempDir& dir, const std::string& job, const std::string& state) {
  std::string cwd = std::filesystem::current_path();
  std::filesystem::current_path(STAR_SOURCE_DIR);
  auto [status, output] = RunCommand({BinaryPath("star"), "run", job, "--state-dir", state,
                                      "--data-root", STAR_SOURCE_DIR, "--data-root", dir.path()},
                                     dir, absl::Seconds(900));
  std::filesystem::current_path(cwd);
  EXPECT_EQ(status, 0) << output << ReadFile(state + "/coordinator.log");
  return output;
}

// The table, results.csv and the picture a finished job leaves; `buckets` rows per iteration.
void ExpectResults(const std::string& output, const std::string& state, int iterations, int buckets) {
  EXPECT_NE(output.find("iter   direct ration."), std::string::npos) << output;
  EXPECT_NE(output.find("final overall accuracy"), std::string::npos) << output;
  std::vector<std::string> rows = absl::StrSplit(ReadFile(state + "/results.csv"), '\n', absl::SkipEmpty());
  EXPECT_EQ(rows.size(), 1u + (iterations + 1) * buckets) << ReadFile(state + "/results.csv");
  const std::string svg = ReadFile(state + "/accuracy.svg");
  EXPECT_TRUE(absl::StartsWith(svg, "<svg")) << svg;
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(ReadFile(state + "/results.json").find("\"state\": \"JOB_STATE_SUCCEEDED\""), std::string::npos);
}

// The kept sets of iterations 1..iterations of job `job_id`.
std::vector<Json> KeptLines(const std::string& state, const std::string& job_id, int iterations) {
  std::vector<Json> kept;
  for (int n = 1; n <= iterations; ++n) {
    const std::string path = absl::StrCat(state, "/jobs/", job_id, "/iterations/", n, "/train.jsonl");
    std::vector<Json> lines = JsonLines(path);
    EXPECT_FALSE(lines.empty()) << path << ": nothing kept, nothing checked";
    kept.insert(kept.end(), lines.begin(), lines.end());
  }
  return kept;
}

// The final answer of a math completion: the integer after its last "####" (what the model
// is trained to write), or nullopt.
std::optional<long long> MathAnswer(const std::string& completion) {
  const size_t mark = completion.rfind("####");
  if (mark == std::string::npos) return std::nullopt;
  std::string number;
  for (char c : completion.substr(mark + 4)) {
    if (absl::ascii_isdigit(c) || (c == '-' && number.empty())) {
      number.push_back(c);
    } else if (c != ' ' || !number.empty()) {
      break;
    }
  }
  long long value = 0;
  return absl::SimpleAtoi(number, &value) ? std::optional<long long>(value) : std::nullopt;
}

// Question text -> gold answer, read from a GSM8K-format file.
std::map<std::string, long long> MathGold(const std::string& path) {
  std::map<std::string, long long> gold;
  for (const Json& line : JsonLines(path)) {
    const std::string answer = line.at("answer");
    gold[line.at("question")] = std::stoll(answer.substr(answer.rfind("####") + 4));
  }
  return gold;
}

// Every kept line: its prompt is exactly the zero-shot prompt of a training question (no hint,
// no exemplar), and its completion's answer is that question's.
void ExpectKeptMathIsRight(const std::vector<Json>& kept, const std::map<std::string, long long>& gold) {
  for (const Json& line : kept) {
    const std::string prompt = line.at("prompt");
    ASSERT_TRUE(absl::StartsWith(prompt, "Q: ") && absl::EndsWith(prompt, "\nA:")) << line;
    const std::string question = prompt.substr(3, prompt.size() - 6);
    const auto it = gold.find(question);
    ASSERT_NE(it, gold.end()) << "the prompt is not a training question as asked: " << line;
    EXPECT_EQ(MathAnswer(line.at("completion")), it->second) << line;
  }
}

TEST(TaskJobsTest, MathJobKeepsOnlyRightAnswersAndThenStartsFromABaseCheckpointWithExemplars) {
  TempDir dir;
  const std::string state = dir.File("math");
  const std::string output = RunJob(dir, "examples/math.yaml", state);
  ASSERT_FALSE(::testing::Test::HasFailure());
  ExpectResults(output, state, kIterations, 2);  // levels 1 and 2
  const std::map<std::string, long long> gold = MathGold(Example("math/train.jsonl"));
  ExpectKeptMathIsRight(KeptLines(state, "math-1", kIterations), gold);

  // The checkpoint a user brings: the first job's M0, with two worked exemplars before every
  // question. What is trained stays the zero-shot prompt.
  const std::string m0 = state + "/jobs/math-1/models/m0";
  ASSERT_TRUE(std::filesystem::exists(m0 + "/model.safetensors"));
  const std::string job = dir.File("based.yaml");
  std::ofstream(job) << "name: based\n"
                     << "task: {math: {train_file: " << Example("math/train.jsonl")
                     << ", eval_file: " << Example("math/eval.jsonl")
                     << ", few_shot_file: " << Example("math/few_shot.jsonl") << "}}\n"
                     << "model: {base_checkpoint: " << m0 << "}\n"
                     << "generation: {max_new_tokens: 140, batch_size: 48}\n"
                     << "training: {initial_steps: 20, learning_rate: 0.001, warmup_steps: 5,\n"
                     << "           global_batch_size: 8, world_size: 1}\n"
                     << "iterations: 1\nshard_size: 16\n";
  const std::string based = dir.File("based");
  const std::string based_output = RunJob(dir, job, based);
  ASSERT_FALSE(::testing::Test::HasFailure());
  ExpectResults(based_output, based, 1, 2);
  EXPECT_EQ(based_output.find(" seed "), std::string::npos) << "a base checkpoint needs no seed stage";
  std::vector<Json> kept = KeptLines(based, "based-1", 1);
  ExpectKeptMathIsRight(kept, gold);
  for (const Json& exemplar : JsonLines(Example("math/few_shot.jsonl"))) {
    for (const Json& line : kept) {
      EXPECT_EQ(line.at("prompt").get<std::string>().find(exemplar.at("question").get<std::string>()),
                std::string::npos)
          << line;
    }
  }
}

TEST(TaskJobsTest, MultipleChoiceJobKeepsOnlyTheRightChoiceAndNeverTheHint) {
  TempDir dir;
  const std::string state = dir.File("commonsense");
  const std::string output = RunJob(dir, "examples/commonsense.yaml", state);
  ASSERT_FALSE(::testing::Test::HasFailure());
  ExpectResults(output, state, kIterations, 1);  // one bucket
  // Stem -> the correct choice's text and label, from the file.
  std::map<std::string, std::pair<std::string, char>> gold;
  for (const Json& line : JsonLines(Example("commonsense/train.jsonl"))) {
    const std::string key = line.at("answerKey");
    for (const Json& choice : line.at("question").at("choices")) {
      if (choice.at("label") == key) {
        gold[line.at("question").at("stem")] = {choice.at("text"), absl::ascii_tolower(key[0])};
      }
    }
  }
  int rationalized = 0;
  for (const Json& line : KeptLines(state, "commonsense-1", kIterations)) {
    const std::string prompt = line.at("prompt");
    const std::string completion = line.at("completion");
    rationalized += line.at("rationalized").get<bool>();
    EXPECT_EQ(prompt.find("CORRECT"), std::string::npos) << line;
    EXPECT_EQ(completion.find("CORRECT"), std::string::npos) << line;
    ASSERT_TRUE(absl::StartsWith(prompt, "Q: ")) << line;
    const std::string stem = prompt.substr(3, prompt.find('\n') - 3);
    const auto it = gold.find(stem);
    ASSERT_NE(it, gold.end()) << line;
    // The choice the prompt lists under the right label is the right one...
    EXPECT_NE(prompt.find(absl::StrCat("\n(", std::string(1, it->second.second), ") ", it->second.first, "\n")),
              std::string::npos)
        << line;
    // ...and the completion's last "(x)" after its last "the answer is" names it.
    const std::string lower = absl::AsciiStrToLower(completion);
    const size_t sentence = lower.rfind("the answer is");
    ASSERT_NE(sentence, std::string::npos) << line;
    const std::string rest = lower.substr(sentence, lower.find('\n', sentence) - sentence);
    char label = 0;
    for (size_t i = 0; i + 2 < rest.size(); ++i) {
      if (rest[i] == '(' && absl::ascii_isalpha(rest[i + 1]) && rest[i + 2] == ')') label = rest[i + 1];
    }
    EXPECT_EQ(label, it->second.second) << line;
  }
  EXPECT_GT(rationalized, 0) << "rationalization kept nothing";
}

}  // namespace
}  // namespace star
