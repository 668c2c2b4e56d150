#include "tasks/task_factory.h"

#include "tasks/addition_task.h"

namespace star {

absl::StatusOr<std::unique_ptr<Task>> MakeTask(const star::v1::TaskSpec& spec) {
  if (spec.has_addition()) return std::make_unique<AdditionTask>(AdditionTask::ForSpec(spec.addition()));
  return absl::InvalidArgumentError("task: names no known task (known: addition)");
}

}  // namespace star
