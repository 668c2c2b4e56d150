#include "tasks/task_factory.h"

#include "tasks/addition_task.h"
#include "tasks/jsonl_task.h"
#include "tasks/math_task.h"
#include "tasks/multiple_choice_task.h"

namespace star {

absl::StatusOr<std::unique_ptr<Task>> MakeTask(const star::v1::TaskSpec& spec) {
  switch (spec.kind_case()) {
    case star::v1::TaskSpec::kAddition:
      return std::make_unique<AdditionTask>(AdditionTask::ForSpec(spec.addition()));
    case star::v1::TaskSpec::kMath: return std::make_unique<MathTask>();
    case star::v1::TaskSpec::kMultipleChoice: return std::make_unique<MultipleChoiceTask>();
    case star::v1::TaskSpec::kJsonl: {
      absl::StatusOr<std::unique_ptr<JsonlTask>> task = JsonlTask::Create(spec.jsonl().format());
      if (!task.ok()) return task.status();
      return std::unique_ptr<Task>(*std::move(task));
    }
    default:
      return absl::InvalidArgumentError(
          "task: names no known task (known: addition, math, multiple_choice, jsonl)");
  }
}

}  // namespace star
