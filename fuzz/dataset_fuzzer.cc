// The question files and the verifiers of the tasks on arbitrary text. As a question file, for
// the addition task (broken JSON, wrong types, huge or negative numbers, operands of unequal
// length, wrong answers) and for the math, multiple_choice and jsonl tasks: must return a status
// naming the line, never crash or throw; every addition question it accepts must be one the
// task's own scratchpad solves and the verifier accepts, and ids must be unique. As a
// completion a worker sent (what the coordinator re-verifies): every task's verifier must
// answer without crashing, and the numbers and arithmetic it reads must be exact.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string_view>

#include "tasks/addition_dataset.h"
#include "tasks/addition_task.h"
#include "tasks/file_task_suite.h"
#include "tasks/jsonl_task.h"
#include "tasks/math_task.h"
#include "tasks/multiple_choice_task.h"
#include "tasks/numeric_answer.h"

namespace {

void CheckFileTask(const star::FileTask& task, std::string_view text) {
  absl::StatusOr<std::vector<star::Question>> questions =
      star::ParseQuestionLines(task, text, "fuzz.jsonl", 0, 0);
  if (!questions.ok()) {
    if (questions.status().message().rfind("fuzz.jsonl", 0) != 0) __builtin_trap();
    return;
  }
  std::set<uint64_t> ids;
  for (const star::Question& q : *questions) {
    if (!ids.insert(q.id).second) __builtin_trap();
    (void)task.Prompt(q);
    (void)task.HintedPrompt(q);
    (void)task.ReferenceCompletion(q);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<star::Question>> questions =
      star::ParseAdditionDataset(text, "fuzz.jsonl", star::AdditionDatasetOptions());
  if (!questions.ok()) {
    if (questions.status().message().rfind("fuzz.jsonl", 0) != 0) __builtin_trap();
  } else {
    static const star::AdditionTask task;
    std::set<uint64_t> ids;
    for (const star::Question& q : *questions) {
      if (!ids.insert(q.id).second) __builtin_trap();
      absl::StatusOr<std::string> completion = star::AdditionTask().ReferenceCompletion(q);
      if (!completion.ok() || !task.Verify(q, *completion)) __builtin_trap();
    }
  }

  static const star::MathTask math;
  static const star::MultipleChoiceTask choice;
  static const std::unique_ptr<star::JsonlTask> jsonl = [] {
    star::v1::JsonlFormat format;
    format.set_prompt_template("Q: {question}\nA:");
    format.set_compare(star::v1::JsonlFormat::NUMERIC);
    return *star::JsonlTask::Create(format);
  }();
  CheckFileTask(math, text);
  CheckFileTask(choice, text);
  CheckFileTask(*jsonl, text);

  // The text as a completion.
  const std::string completion(text);
  star::Question gold;
  gold.answer = "72";
  (void)math.Verify(gold, completion);
  (void)jsonl->Verify(gold, completion);
  gold.answer = "B";
  (void)choice.Verify(gold, completion);
  // A number is read reduced, with a positive denominator.
  const absl::string_view view(text.data(), text.size());
  if (std::optional<star::Rational> r = star::ParseNumber(view); r.has_value()) {
    if (r->denominator <= 0) __builtin_trap();
  }
  (void)star::EvaluateArithmetic(view);
  (void)star::AnnotationHolds(view);
  return 0;
}
