#ifndef STAR_TASKS_FILE_TASK_H_
#define STAR_TASKS_FILE_TASK_H_

// A task whose questions are lines of JSON Lines files (math, multiple_choice, jsonl): besides
// the Task's prompts and verifier, it reads one line into a Question.

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tasks/task.h"

namespace star {

class FileTask : public Task {
 public:
  // The question one line holds (its id is the reader's part). kInvalidArgument saying what is
  // wrong with the line (the reader adds the file and line). Keys the task does not use are
  // ignored: the real datasets carry more than any task reads.
  virtual absl::StatusOr<Question> FromJson(const nlohmann::json& line) const = 0;

  // Every file task's completions end at a blank line.
  std::string StopString() const override { return "\n\n"; }
};

// The bucket a line names in its "bucket" or "level" key (a string or an integer), or "all".
// kInvalidArgument when the key holds anything else.
absl::StatusOr<std::string> BucketOfLine(const nlohmann::json& line);

// The string at `key` of `object`, or kInvalidArgument naming the key (missing, or not a
// string).
absl::StatusOr<std::string> StringField(const nlohmann::json& object, const char* key);

// kInvalidArgument naming `question`: it has no worked rationale (what ReferenceCompletion
// needs).
absl::Status NoRationaleError(const Question& question);

// Questions, rationales and choices longer than this are refused (a line is a question, not a
// book).
inline constexpr size_t kMaxFieldBytes = 64 << 10;

}  // namespace star

#endif  // STAR_TASKS_FILE_TASK_H_
