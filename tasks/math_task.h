#ifndef STAR_TASKS_MATH_TASK_H_
#define STAR_TASKS_MATH_TASK_H_

// Math word problems in GSM8K's format, one per line:
//
//   {"question": "Ann has 3 boxes of 4 pens. How many pens?", "answer": "3 * 4 = <<3*4=12>>12\n#### 12"}
//
// The answer field is the worked rationale, then "#### " and the final answer; an optional
// "bucket" or "level" groups the results. The prompt and the completion (docs/tasks/math.md):
//
//   Q: Ann has 3 boxes of 4 pens. How many pens?
//   A: 3 * 4 = <<3*4=12>>12
//   #### 12
//
// then a blank line. The hint for rationalization is the answer in parentheses after the
// question, as the paper gives it: "Q: ... How many pens? (12)\nA:". A completion states its
// answer with its last "#### N", else its last "The answer is N", else its last "\boxed{N}";
// answers are compared as numbers (tasks/numeric_answer.h): "12.0", "$12" and "12" agree. A
// completion with the right answer is still refused when one of its calculator annotations
// ("<<3*4=12>>", GSM8K's) is not arithmetic that holds: the answer was reached by luck or by
// copying the hint, not by the steps written.

#include "tasks/file_task.h"

namespace star {

class MathTask final : public FileTask {
 public:
  std::string Prompt(const Question& question) const override;
  std::string HintedPrompt(const Question& question) const override;
  // The number a completion states (as written), or nullopt.
  std::optional<std::string> ExtractAnswer(const std::string& completion) const override;
  bool Verify(const Question& question, const std::string& completion) const override;
  absl::StatusOr<std::string> ReferenceCompletion(const Question& question) const override;
  // The rationale is the answer field's text before its last "####"; the gold answer, the
  // number after it (which must be one).
  absl::StatusOr<Question> FromJson(const nlohmann::json& line) const override;
};

}  // namespace star

#endif  // STAR_TASKS_MATH_TASK_H_
