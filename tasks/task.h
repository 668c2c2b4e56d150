#ifndef STAR_TASKS_TASK_H_
#define STAR_TASKS_TASK_H_

// A STaR task: how questions are put to the model, how a hint (the gold answer) is shown for
// rationalization, and how a completion's final answer is checked. Torch-free; the coordinator
// (which re-verifies everything) and workers share it.

#include <cstdint>
#include <optional>
#include <string>

namespace star {

struct Question {
  uint64_t id = 0;
  // The problem as the task renders it inside a prompt (for addition: "6 2 4 + 2 5 7").
  std::string text;
  // The gold final answer, compared exactly ("8 8 1").
  std::string answer;
  // Group for accuracy reporting (for addition: the operand length, "3").
  std::string bucket;
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
  // True when the completion's final answer equals the gold answer exactly.
  bool Verify(const Question& question, const std::string& completion) const {
    std::optional<std::string> answer = ExtractAnswer(completion);
    return answer.has_value() && *answer == question.answer;
  }
  // Text generation should stop at (ends a completion).
  virtual std::string StopString() const = 0;
};

}  // namespace star

#endif  // STAR_TASKS_TASK_H_
