#ifndef STAR_TASKS_FILE_TASK_SUITE_H_
#define STAR_TASKS_FILE_TASK_SUITE_H_

// The suite of the tasks whose questions come from JSON Lines files (math, multiple_choice,
// jsonl; spec FileTaskSpec): the pool and the held-out split read through the task's FromJson,
// few-shot exemplars prepended to every prompt, and the seed stage trained on the worked
// rationales the training file carries.
//
// Ids: a training question read from line L has id L, a held-out one kEvalIdOffset + L.

#include <memory>

#include "tasks/file_task.h"
#include "tasks/task_suite.h"

namespace star {

class FileTaskSuite final : public TaskSuite {
 public:
  // `field` is the spec field the task is under ("task.math"), for errors.
  FileTaskSuite(std::string field, star::v1::FileTaskSpec spec, std::unique_ptr<FileTask> task)
      : field_(std::move(field)), spec_(std::move(spec)), task_(std::move(task)) {}

  const Task& task() const override { return *task_; }
  absl::Status Load(const std::string& job_dir) override;
  // The first seed_examples training questions that have a worked rationale, zero-shot prompts
  // (one in four hinted, so that a hinted prompt means something to M0).
  absl::StatusOr<std::vector<SeedExample>> SeedExamples() const override;
  std::string GenerationPrompt(const Question& question) const override;
  std::string HintedGenerationPrompt(const Question& question) const override;

  // After Load: the exemplars rendered (each its prompt and reference completion), shown
  // before every question and before every hinted question.
  const std::string& few_shot() const { return few_shot_; }
  const std::string& hinted_few_shot() const { return hinted_few_shot_; }

 private:
  // Reads the file of `key` (train_file, ...) into questions, ids first_id + line.
  absl::StatusOr<std::vector<Question>> ReadQuestions(const std::string& key, const std::string& path,
                                                      const std::string& kept, uint64_t first_id,
                                                      uint32_t limit) const;
  // The exemplars of a few-shot file rendered with `hinted` prompts.
  absl::StatusOr<std::string> ReadExemplars(const std::string& key, const std::string& path,
                                            const std::string& kept, bool hinted) const;

  const std::string field_;
  const star::v1::FileTaskSpec spec_;
  const std::unique_ptr<FileTask> task_;
  std::string few_shot_;
  std::string hinted_few_shot_;
};

// Parses JSON Lines `text` (named `source` in errors) with `task`: one question per non-blank
// line, ids first_id + the line number, at most `limit` (0 = all). kInvalidArgument
// "source:line: what" for a line that is not JSON or not a question of the task, and for a
// file with none.
absl::StatusOr<std::vector<Question>> ParseQuestionLines(const FileTask& task, std::string_view text,
                                                         const std::string& source, uint64_t first_id,
                                                         uint32_t limit);

}  // namespace star

#endif  // STAR_TASKS_FILE_TASK_SUITE_H_
