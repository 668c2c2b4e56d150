#include "tasks/addition_dataset.h"

#include <fstream>

#include "gtest/gtest.h"
#include "tasks/addition_task.h"

namespace star {
namespace {

std::string Error(std::string_view text, const AdditionDatasetOptions& options = {}) {
  absl::StatusOr<std::vector<Question>> parsed = ParseAdditionDataset(text, "train.jsonl", options);
  EXPECT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(AdditionDatasetTest, ReadsQuestionsWithStableIdsPerLengthAndLine) {
  AdditionDatasetOptions options;
  options.first_id = 500;
  options.ids_per_length = 1000;
  absl::StatusOr<std::vector<Question>> parsed = ParseAdditionDataset(
      "{\"a\": 624, \"b\": 257}\n\n{\"a\": 3, \"b\": 9, \"answer\": 12}\r\n  \n{\"b\": 45, \"a\": 31}",
      "train.jsonl", options);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 3u);
  // The same questions as the generator makes for those operands.
  const Question expected[] = {AdditionTask::MakeQuestion(500 + 3 * 1000 + 1, 624, 257, 3),
                               AdditionTask::MakeQuestion(500 + 1 * 1000 + 3, 3, 9, 1),
                               AdditionTask::MakeQuestion(500 + 2 * 1000 + 5, 31, 45, 2)};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*parsed)[i].id, expected[i].id);
    EXPECT_EQ((*parsed)[i].text, expected[i].text);
    EXPECT_EQ((*parsed)[i].answer, expected[i].answer);
    EXPECT_EQ((*parsed)[i].bucket, expected[i].bucket);
  }
  EXPECT_EQ((*parsed)[0].text, "6 2 4 + 2 5 7");
  EXPECT_EQ((*parsed)[0].answer, "8 8 1");
}

TEST(AdditionDatasetTest, EveryErrorNamesTheFileAndLine) {
  EXPECT_EQ(Error("{\"a\": 1, \"b\": 2}\n{\"a\": 1, \"b\": "), "train.jsonl:2: invalid JSON");
  EXPECT_EQ(Error("[1, 2]"), "train.jsonl:1: expected an object like {\"a\": 624, \"b\": 257}");
  EXPECT_EQ(Error("{\"a\": 1, \"b\": 2, \"c\": 3}"),
            "train.jsonl:1: unknown key \"c\" (known: a, b, answer)");
  EXPECT_EQ(Error("\n{\"a\": 1}"), "train.jsonl:2: missing \"b\"");
  EXPECT_EQ(Error("{\"a\": \"12\", \"b\": 34}"),
            "train.jsonl:1: \"a\" must be a non-negative integer, not \"12\"");
  EXPECT_EQ(Error("{\"a\": -1, \"b\": 3}"),
            "train.jsonl:1: \"a\" must be a non-negative integer, not -1");
  EXPECT_EQ(Error("{\"a\": 1.5, \"b\": 3}"),
            "train.jsonl:1: \"a\" must be a non-negative integer, not 1.5");
  EXPECT_EQ(Error("{\"a\": 12345678901234567890, \"b\": 3}"),
            "train.jsonl:1: \"a\" has more than 18 digits");
  EXPECT_EQ(Error("{\"a\": 12, \"b\": 345}"),
            "train.jsonl:1: operands 12 and 345 have different lengths (2 and 3 digits)");
  EXPECT_EQ(Error("{\"a\": 12, \"b\": 34, \"answer\": 47}"),
            "train.jsonl:1: \"answer\" 47 is not 12 + 34 = 46");
  EXPECT_EQ(Error("{\"a\": 12, \"b\": 34, \"answer\": \"46\"}"),
            "train.jsonl:1: \"answer\" \"46\" is not 12 + 34 = 46");
  AdditionDatasetOptions two_to_three;
  two_to_three.min_digits = 2;
  two_to_three.max_digits = 3;
  EXPECT_EQ(Error("{\"a\": 12, \"b\": 34}\n{\"a\": 1234, \"b\": 5678}", two_to_three),
            "train.jsonl:2: 4-digit operands are outside the job's lengths (2-3 digits)");
  EXPECT_EQ(Error("\n  \n"), "train.jsonl: holds no questions");
  // A number too large for any integer type: invalid JSON for nlohmann's integer parsing is
  // still a named error, never an exception.
  EXPECT_EQ(Error("{\"a\": 1" + std::string(400, '0') + ", \"b\": 1}"),
            "train.jsonl:1: invalid JSON");
}

TEST(AdditionDatasetTest, AMissingFileIsNotFoundNamingThePath) {
  absl::StatusOr<std::vector<Question>> loaded =
      LoadAdditionDataset("/nonexistent/train.jsonl", AdditionDatasetOptions());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(loaded.status().message().find("/nonexistent/train.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace star
