// `star run` end to end on the smoke job: a real coordinator, worker and two trainer ranks run
// the seed stage, two STaR iterations (generate with rationalization, train from M0, evaluate)
// and the results are written.

#include <filesystem>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
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
    EXPECT_EQ(fields[3], "8") << lines[i];  // eval_questions_per_length
  }
  std::string svg = ReadFile(state + "/accuracy.svg");
  EXPECT_EQ(svg.substr(0, 4), "<svg");
  EXPECT_NE(svg.find("1 digits"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(ReadFile(state + "/results.json").find("\"state\": \"JOB_STATE_SUCCEEDED\""),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(state + "/jobs/smoke-1/models/m0/model.safetensors"));
  EXPECT_NE(ReadFile(state + "/trainer-0.log").find("round smoke-1-i0-round1 done"), std::string::npos);
}

}  // namespace
}  // namespace star
