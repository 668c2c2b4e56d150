#ifndef STAR_TASKS_TASK_FACTORY_H_
#define STAR_TASKS_TASK_FACTORY_H_

// The Task a TaskSpec names (prompts, verifier, buckets), made without reading any file: what
// workers and the coordinator's verification of their results need.

#include <memory>

#include "absl/status/statusor.h"
#include "star/v1/job.pb.h"
#include "tasks/task.h"

namespace star {

// kInvalidArgument naming "task" when the spec names no task this build knows.
absl::StatusOr<std::unique_ptr<Task>> MakeTask(const star::v1::TaskSpec& spec);

}  // namespace star

#endif  // STAR_TASKS_TASK_FACTORY_H_
