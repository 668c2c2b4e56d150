#ifndef STAR_TASKS_JSONL_TASK_H_
#define STAR_TASKS_JSONL_TASK_H_

// Any JSON Lines file of questions, described by the job (task.jsonl.format,
// docs/tasks/jsonl.md): prompt templates over the line's fields ("Q: {question}\nA:"), the
// answer field, an RE2 pattern that finds the answer in a completion, and how answers compare
// (exactly, as numbers, or regardless of case).

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "re2/re2.h"
#include "star/v1/job.pb.h"
#include "tasks/file_task.h"

namespace star {

class JsonlTask final : public FileTask {
 public:
  // kInvalidArgument naming the field of task.jsonl.format that is malformed: a template with
  // an unclosed or empty "{}", a prompt_template that shows the answer, an answer_pattern that
  // is not RE2 or does not have exactly one capturing group.
  static absl::StatusOr<std::unique_ptr<JsonlTask>> Create(const star::v1::JsonlFormat& format);

  std::string Prompt(const Question& question) const override;
  // The hinted template, or the prompt when there is none (rationalization is then refused at
  // validation).
  std::string HintedPrompt(const Question& question) const override;
  // The capturing group of the pattern's last match, trimmed.
  std::optional<std::string> ExtractAnswer(const std::string& completion) const override;
  bool Verify(const Question& question, const std::string& completion) const override;
  absl::StatusOr<std::string> ReferenceCompletion(const Question& question) const override;
  // The line's string, number and boolean keys become the question's fields; the answer field
  // must be present, as must every field the prompt templates name.
  absl::StatusOr<Question> FromJson(const nlohmann::json& line) const override;

  // One piece of a template: literal text, or the field it names.
  struct Piece {
    std::string text;
    bool field = false;
  };

 private:
  JsonlTask() = default;
  std::string Render(const std::vector<Piece>& pieces, const Question& question) const;

  std::vector<Piece> prompt_;
  std::vector<Piece> hinted_;
  std::vector<Piece> completion_;
  std::unique_ptr<RE2> pattern_;
  star::v1::JsonlFormat::Compare compare_ = star::v1::JsonlFormat::EXACT;
  std::string answer_field_;
  std::string rationale_field_;
};

// "{name}" placeholders and literal text ("{{" and "}}" are braces); kInvalidArgument saying
// what is wrong (an unclosed "{", an empty name, a lone "}").
absl::StatusOr<std::vector<JsonlTask::Piece>> ParseTemplate(absl::string_view text);

}  // namespace star

#endif  // STAR_TASKS_JSONL_TASK_H_
