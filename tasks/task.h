#ifndef STAR_TASKS_TASK_H_
#define STAR_TASKS_TASK_H_

// A STaR task: how questions are put to the model, how a hint (the gold answer) is shown for
// rationalization, how a completion's final answer is checked, and how results are grouped.
// Torch-free; the coordinator (which re-verifies everything) and workers share it. Where the
// questions come from is the task suite's part (tasks/task_suite.h).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace star {

struct Choice {
  std::string label;  // "A"
  std::string text;   // "bank"
};

struct Question {
  uint64_t id = 0;
  // The problem as the task renders it inside a prompt (for addition: "6 2 4 + 2 5 7"; for a
  // word problem, its text; for multiple choice, the stem).
  std::string text;
  // The gold final answer ("8 8 1", "72", the choice label "B").
  std::string answer;
  // Group for accuracy reporting (for addition: the operand length, "3").
  std::string bucket;
  // Multiple choice: the answer choices, in order.
  std::vector<Choice> choices;
  // A worked rationale that came with the question (GSM8K's solution steps), or empty: what
  // few-shot exemplars and the seed stage show.
  std::string rationale;
  // The jsonl task: the line's string and number fields, for its prompt templates.
  std::map<std::string, std::string> fields;
};

// Implementations are immutable and thread-safe.
class Task {
 public:
  virtual ~Task() = default;

  // The prompt the model continues with a rationale and an answer.
  virtual std::string Prompt(const Question& question) const = 0;
  // The same prompt with the gold answer given as a hint (rationalization). What the model
  // writes after it is trained as a continuation of Prompt(), never of this.
  virtual std::string HintedPrompt(const Question& question) const = 0;
  // The final answer a completion states, or nullopt when it states none.
  virtual std::optional<std::string> ExtractAnswer(const std::string& completion) const = 0;
  // True when the completion's final answer is the gold answer; by default compared exactly
  // (a task may compare numbers, or labels regardless of case).
  virtual bool Verify(const Question& question, const std::string& completion) const {
    std::optional<std::string> answer = ExtractAnswer(completion);
    return answer.has_value() && *answer == question.answer;
  }
  // Text generation should stop at (ends a completion).
  virtual std::string StopString() const = 0;
  // What the model should write after Prompt(question): its rationale, the answer and the
  // stop string (the seed stage's and the few-shot exemplars' text). kInvalidArgument naming
  // the question when the task cannot write one (a question without a worked rationale).
  virtual absl::StatusOr<std::string> ReferenceCompletion(const Question& question) const = 0;

  // Results: how a bucket is named in tables ("3d" for three-digit sums), what the buckets are
  // ("operand length"), whether the training pool has questions of a bucket (held-out lengths
  // longer than any trained one measure generalisation and are reported apart), and the name
  // of the trained buckets together ("1-5d").
  virtual std::string BucketLabel(const std::string& bucket) const { return bucket; }
  virtual std::string BucketKind() const { return "bucket"; }
  virtual bool Trains(const std::string& bucket) const { return true; }
  virtual std::string TrainedLabel() const { return "all"; }
};

}  // namespace star

#endif  // STAR_TASKS_TASK_H_
