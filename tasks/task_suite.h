#ifndef STAR_TASKS_TASK_SUITE_H_
#define STAR_TASKS_TASK_SUITE_H_

// Everything a job needs from its task, behind one interface, so that the coordinator's job
// runner, the workers and the results know no task by name:
//
//   - its part of the job spec checked, errors naming the field (ValidateTaskSpec);
//   - the files it reads, for the coordinator to confine (TaskFiles);
//   - the training pool and the held-out split, generated or read from files (Load);
//   - what a model trained from scratch is seeded with (SeedExamples);
//   - the prompts workers are given, few-shot exemplars included (GenerationPrompt), and the
//     Task: the zero-shot prompt training text uses, the hint, the verifier, the buckets.
//
// MakeTask (tasks/task_factory.h) makes the Task alone, from the spec a shard carries, without
// reading any file: what workers and the coordinator's verification need.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "star/v1/job.pb.h"
#include "tasks/task.h"

namespace star {

// A training example of the seed stage: the prompt (zero-shot, sometimes hinted) and the
// reference completion.
struct SeedExample {
  uint64_t id = 0;
  std::string prompt;
  std::string completion;
};

class TaskSuite {
 public:
  virtual ~TaskSuite() = default;

  virtual const Task& task() const = 0;

  // Generates or reads the training pool, the held-out split and any few-shot exemplars. With
  // `job_dir`, every file is read from the copy kept in job_dir/questions (made from the named
  // file on first use), so that a resumed job sees the same questions, with the same ids, even
  // if the original file changed or moved. Errors name the spec field and, for a file, the line
  // ("task.math.train_file: train.jsonl:7: ..."): kInvalidArgument for bad content, kNotFound for
  // a missing file.
  virtual absl::Status Load(const std::string& job_dir) = 0;
  // After Load. Question ids are unique across both.
  const std::vector<Question>& pool() const { return pool_; }
  const std::vector<Question>& eval() const { return eval_; }

  // After Load: the examples that train M0 from a random initialisation (a job with
  // model.init_config). kInvalidArgument naming the field when there are none to give.
  virtual absl::StatusOr<std::vector<SeedExample>> SeedExamples() const = 0;

  // After Load: what a worker is asked, the few-shot exemplars (if any) then the task's
  // prompt, and the same with the hint. What the model writes is trained as a continuation of
  // task().Prompt(question), without exemplars and without the hint.
  virtual std::string GenerationPrompt(const Question& question) const {
    return task().Prompt(question);
  }
  virtual std::string HintedGenerationPrompt(const Question& question) const {
    return task().HintedPrompt(question);
  }

 protected:
  std::vector<Question> pool_;
  std::vector<Question> eval_;
};

// The suite of a valid spec (its task and the job's seed, which generated questions use).
absl::StatusOr<std::unique_ptr<TaskSuite>> MakeTaskSuite(const star::v1::JobSpec& spec);

// Checks spec.task (and what it needs of the rest of the spec: rationalization needs a hinted
// prompt, a model trained from scratch needs seed examples). kInvalidArgument "field: what",
// the field dotted from the spec's root ("task.math.train_file: is required").
absl::Status ValidateTaskSpec(const star::v1::JobSpec& spec);

// The files spec.task names, by field, for the coordinator to confine to its data roots.
struct TaskFile {
  std::string field;  // "task.math.train_file"
  std::string* path;  // into the spec; empty when the field is unset
};
std::vector<TaskFile> TaskFiles(star::v1::TaskSpec& task);

// The longest path a spec may name (PATH_MAX).
inline constexpr size_t kMaxSpecPathBytes = 4096;

// Question files larger than this are refused.
inline constexpr int64_t kMaxQuestionFileBytes = 256LL << 20;

// Question ids: evaluation questions are offset so they never meet training ids; seed
// examples of generated tasks get ids of their own.
inline constexpr uint64_t kEvalIdOffset = 100'000'000'000ULL;
inline constexpr uint64_t kSeedIdOffset = 200'000'000'000ULL;

// The text of a task's file `path` (spec field `field`): with `kept` non-empty, the copy kept
// there when it exists; otherwise the file itself, bounded to kMaxQuestionFileBytes. Errors are
// prefixed with the field.
absl::StatusOr<std::string> ReadTaskFile(const std::string& field, const std::string& path,
                                         const std::string& kept);
// Writes `text` to `kept` (atomically, through a temporary file) unless `kept` is empty or
// exists already: called once the text read by ReadTaskFile has parsed.
absl::Status KeepTaskFile(const std::string& field, const std::string& kept, const std::string& text);

}  // namespace star

#endif  // STAR_TASKS_TASK_SUITE_H_
