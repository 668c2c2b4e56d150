// The addition question files (tasks/addition_dataset.h) on arbitrary text: broken JSON, wrong
// types, huge or negative numbers, operands of unequal length, wrong answers. Must return a
// status naming the line, never crash or throw; every question it accepts must be one the
// task's own scratchpad solves and the verifier accepts, and ids must be unique.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "tasks/addition_dataset.h"
#include "tasks/addition_task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<star::Question>> questions =
      star::ParseAdditionDataset(text, "fuzz.jsonl", star::AdditionDatasetOptions());
  if (!questions.ok()) {
    if (questions.status().message().rfind("fuzz.jsonl", 0) != 0) __builtin_trap();
    return 0;
  }
  static const star::AdditionTask task;
  std::set<uint64_t> ids;
  for (const star::Question& q : *questions) {
    if (!ids.insert(q.id).second) __builtin_trap();
    absl::StatusOr<std::string> completion = star::AdditionTask().ReferenceCompletion(q);
    if (!completion.ok() || !task.Verify(q, *completion)) __builtin_trap();
  }
  return 0;
}
