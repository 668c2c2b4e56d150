#include "flags/flag_parser.h"

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace star {
namespace {

absl::Status ParseArgs(FlagParser& parser, std::vector<std::string> args) {
  std::vector<const char*> argv = {"prog"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  return parser.Parse(static_cast<int>(argv.size()), argv.data());
}

TEST(FlagParserTest, ParsesSpaceAndEqualsForms) {
  std::string listen = "0.0.0.0:50051";
  int64_t workers = 1;
  double lr = 0.1;
  bool check = false;
  FlagParser parser("prog", "test");
  parser.AddString("listen", &listen, "address");
  parser.AddInt("workers", &workers, "workers", 1, 64);
  parser.AddDouble("lr", &lr, "learning rate", 0, 1);
  parser.AddBool("check", &check, "check only");
  ASSERT_TRUE(ParseArgs(parser, {"--listen", "127.0.0.1:0", "--workers=3", "--lr=1e-3", "--check"})
                  .ok());
  EXPECT_EQ(listen, "127.0.0.1:0");
  EXPECT_EQ(workers, 3);
  EXPECT_DOUBLE_EQ(lr, 1e-3);
  EXPECT_TRUE(check);
  EXPECT_TRUE(parser.WasSet("workers"));
  EXPECT_FALSE(parser.help_requested());
}

TEST(FlagParserTest, RepeatedListFlagReplacesTheDefaultsAndKeepsEveryValueInOrder) {
  std::vector<std::string> roots = {"."};
  FlagParser parser("prog", "test");
  parser.AddStringList("data-root", &roots, "roots");
  EXPECT_NE(parser.Usage().find("(default: .)"), std::string::npos) << parser.Usage();
  ASSERT_TRUE(ParseArgs(parser, {"--data-root", "/data", "--data-root=/models"}).ok());
  EXPECT_EQ(roots, (std::vector<std::string>{"/data", "/models"}));

  std::vector<std::string> untouched = {"."};
  FlagParser other("prog", "test");
  other.AddStringList("data-root", &untouched, "roots");
  ASSERT_TRUE(ParseArgs(other, {}).ok());
  EXPECT_EQ(untouched, (std::vector<std::string>{"."}));
}

TEST(FlagParserTest, UnknownFlagIsNamed) {
  FlagParser parser("prog", "test");
  absl::Status s = ParseArgs(parser, {"--bogus"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "unknown flag --bogus");
}

TEST(FlagParserTest, UnknownFlagWithValueIsNamedWithoutValue) {
  FlagParser parser("prog", "test");
  absl::Status s = ParseArgs(parser, {"--bogus=7"});
  EXPECT_EQ(s.message(), "unknown flag --bogus");
}

TEST(FlagParserTest, SingleDashFlagIsRejected) {
  FlagParser parser("prog", "test");
  absl::Status s = ParseArgs(parser, {"-x"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown flag -x"), std::string::npos);
}

TEST(FlagParserTest, OutOfRangeIntegerNamesFlagAndRange) {
  int64_t workers = 1;
  FlagParser parser("prog", "test");
  parser.AddInt("workers", &workers, "workers", 1, 64);
  absl::Status s = ParseArgs(parser, {"--workers", "0"});
  EXPECT_EQ(s.message(), "--workers: 0 is out of range [1, 64]");
  EXPECT_EQ(workers, 1);
}

TEST(FlagParserTest, MalformedNumbersAreNamed) {
  int64_t n = 1;
  double d = 0;
  bool b = false;
  FlagParser parser("prog", "test");
  parser.AddInt("n", &n, "n", 0, 10);
  parser.AddDouble("d", &d, "d", 0, 1);
  parser.AddBool("b", &b, "b");
  EXPECT_EQ(ParseArgs(parser, {"--n", "two"}).message(), "--n: 'two' is not an integer");
  EXPECT_EQ(ParseArgs(parser, {"--d", "nan"}).message(), "--d: nan is out of range [0, 1]");
  EXPECT_EQ(ParseArgs(parser, {"--b=maybe"}).message(), "--b: 'maybe' is not true or false");
}

TEST(FlagParserTest, HostPortIsValidated) {
  std::string address = "127.0.0.1:50051";
  FlagParser parser("prog", "test");
  parser.AddHostPort("listen", &address, "address");
  ASSERT_TRUE(ParseArgs(parser, {"--listen", "0.0.0.0:0"}).ok());
  EXPECT_EQ(address, "0.0.0.0:0");
  ASSERT_TRUE(ParseArgs(parser, {"--listen", "[::1]:8080"}).ok());
  ASSERT_TRUE(ParseArgs(parser, {"--listen", "coordinator.star.svc:50051"}).ok());
  for (const char* bad : {"localhost", ":80", "host:99999", "host:-1", "host:http", "a b:1",
                          "[::1:80", "[]:80"}) {
    absl::Status s = ParseArgs(parser, {"--listen", bad});
    EXPECT_EQ(s.message(), absl::StrFormat("--listen: '%s' is not HOST:PORT (port 0-65535)", bad));
  }
}

TEST(FlagParserTest, MissingValueIsNamed) {
  std::string path;
  FlagParser parser("prog", "test");
  parser.AddString("state-dir", &path, "dir");
  EXPECT_EQ(ParseArgs(parser, {"--state-dir"}).message(), "--state-dir needs a value");
}

TEST(FlagParserTest, RequiredFlagAndPositional) {
  std::string coordinator;
  std::string job;
  FlagParser parser("prog", "test");
  parser.AddString("coordinator", &coordinator, "address", /*required=*/true);
  parser.AddPositional("JOB.yaml", &job, "job file");
  EXPECT_EQ(ParseArgs(parser, {"job.yaml"}).message(), "--coordinator is required");
  EXPECT_EQ(ParseArgs(parser, {"--coordinator", "x:1"}).message(), "missing argument JOB.yaml");
  ASSERT_TRUE(ParseArgs(parser, {"--coordinator", "x:1", "job.yaml"}).ok());
  EXPECT_EQ(job, "job.yaml");
  EXPECT_EQ(ParseArgs(parser, {"--coordinator", "x:1", "a", "b"}).message(),
            "unexpected argument 'b'");
}

TEST(FlagParserTest, HelpStopsParsingAndUsageListsFlagsWithDefaults) {
  std::string listen = "0.0.0.0:50051";
  int64_t workers = 2;
  FlagParser parser("star-coordinator", "Runs the coordinator.");
  parser.AddString("listen", &listen, "address to serve on");
  parser.AddInt("workers", &workers, "workers", 1, 8);
  ASSERT_TRUE(ParseArgs(parser, {"--help", "--bogus"}).ok());
  EXPECT_TRUE(parser.help_requested());
  std::string usage = parser.Usage();
  EXPECT_NE(usage.find("Runs the coordinator."), std::string::npos);
  EXPECT_NE(usage.find("--listen STRING"), std::string::npos);
  EXPECT_NE(usage.find("(default: 0.0.0.0:50051)"), std::string::npos);
  EXPECT_NE(usage.find("--workers INT"), std::string::npos);
}

}  // namespace
}  // namespace star
