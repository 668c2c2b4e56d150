#ifndef STAR_TASKS_MULTIPLE_CHOICE_TASK_H_
#define STAR_TASKS_MULTIPLE_CHOICE_TASK_H_

// Multiple-choice questions in CommonsenseQA's format, one per line:
//
//   {"question": {"stem": "Where do you keep money?", "choices": [{"label": "A", "text": "bank"},
//    {"label": "B", "text": "shoe"}]}, "answerKey": "A"}
//
// plus, optionally, "rationale" (a worked explanation, for few-shot exemplars and the seed
// stage) and "bucket" or "level". The paper's prompt and completion (docs/tasks/multiple_choice.md):
//
//   Q: Where do you keep money?
//   Answer Choices:
//   (a) bank
//   (b) shoe
//   A: Money is kept safe in a bank. Therefore, the answer is bank (a).
//
// then a blank line. The hint marks the correct choice, "(a) bank (CORRECT)". A completion
// states the label in parentheses after its last "the answer is"; labels compare regardless of
// case. A completion that writes the hint's mark "(CORRECT)" never verifies: the hint must not
// reach training text.

#include "tasks/file_task.h"

namespace star {

class MultipleChoiceTask final : public FileTask {
 public:
  std::string Prompt(const Question& question) const override;
  std::string HintedPrompt(const Question& question) const override;
  // The label a completion states, upper case ("A"), or nullopt.
  std::optional<std::string> ExtractAnswer(const std::string& completion) const override;
  bool Verify(const Question& question, const std::string& completion) const override;
  absl::StatusOr<std::string> ReferenceCompletion(const Question& question) const override;
  // Two to 26 choices with distinct single-letter labels; answerKey one of them.
  absl::StatusOr<Question> FromJson(const nlohmann::json& line) const override;
};

}  // namespace star

#endif  // STAR_TASKS_MULTIPLE_CHOICE_TASK_H_
