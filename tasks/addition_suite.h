#ifndef STAR_TASKS_ADDITION_SUITE_H_
#define STAR_TASKS_ADDITION_SUITE_H_

// The addition task's suite: questions generated from the job's seed (or read from
// task.addition.train_file / eval_file, tasks/addition_dataset.h), spread over the operand
// lengths as the spec says, and the seed stage's reference scratchpads.

#include "tasks/addition_task.h"
#include "tasks/task_suite.h"

namespace star {

class AdditionSuite final : public TaskSuite {
 public:
  AdditionSuite(star::v1::AdditionTaskSpec spec, uint64_t seed)
      : spec_(std::move(spec)), seed_(seed), task_(AdditionTask::ForSpec(spec_)) {}

  const Task& task() const override { return task_; }
  absl::Status Load(const std::string& job_dir) override;
  // Reference scratchpads of generated sums, SeedExamplesOfLength of each length; one in four
  // shows the hint, so that hinted prompts mean something to M0.
  absl::StatusOr<std::vector<SeedExample>> SeedExamples() const override;

 private:
  const star::v1::AdditionTaskSpec spec_;
  const uint64_t seed_;
  const AdditionTask task_;
};

// "task.addition.field: what" for the first problem of `spec`.
absl::Status ValidateAdditionSpec(const star::v1::AdditionTaskSpec& spec);

// How many reference scratchpads of `digits`-digit sums the seed stage of a valid `spec` trains
// on: seed_examples spread over 1..seed_max_digits (at least 1), then each longer length's
// seed_examples_by_longer_length entry or, without that list, seed_examples_per_longer_length.
uint32_t SeedExamplesOfLength(const star::v1::AdditionTaskSpec& spec, uint32_t digits);

}  // namespace star

#endif  // STAR_TASKS_ADDITION_SUITE_H_
