#include "tasks/file_task_suite.h"

#include "absl/strings/str_cat.h"
#include "tasks/json_lines.h"

namespace star {

absl::StatusOr<std::vector<Question>> ParseQuestionLines(const FileTask& task, std::string_view text,
                                                         const std::string& source, uint64_t first_id,
                                                         uint32_t limit) {
  std::vector<Question> questions;
  absl::Status status = ForEachNonBlankLine(text, [&](uint64_t number, std::string_view line) {
    if (limit != 0 && questions.size() >= limit) return absl::OkStatus();
    const nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr,
                                                   /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", number, ": invalid JSON"));
    }
    absl::StatusOr<Question> q = task.FromJson(j);
    if (!q.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", number, ": ", q.status().message()));
    }
    q->id = first_id + number;
    questions.push_back(*std::move(q));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (questions.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": holds no questions"));
  return questions;
}

absl::StatusOr<std::vector<Question>> FileTaskSuite::ReadQuestions(const std::string& key,
                                                                   const std::string& path,
                                                                   const std::string& kept,
                                                                   uint64_t first_id,
                                                                   uint32_t limit) const {
  const std::string field = absl::StrCat(field_, ".", key);
  absl::StatusOr<std::string> text = ReadTaskFile(field, path, kept);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<Question>> questions = ParseQuestionLines(*task_, *text, path, first_id, limit);
  if (!questions.ok()) {
    return absl::Status(questions.status().code(), absl::StrCat(field, ": ", questions.status().message()));
  }
  if (absl::Status s = KeepTaskFile(field, kept, *text); !s.ok()) return s;
  return questions;
}

absl::StatusOr<std::string> FileTaskSuite::ReadExemplars(const std::string& key, const std::string& path,
                                                         const std::string& kept, bool hinted) const {
  if (path.empty()) return std::string();
  absl::StatusOr<std::vector<Question>> exemplars = ReadQuestions(key, path, kept, 0, 0);
  if (!exemplars.ok()) return exemplars.status();
  std::string out;
  for (const Question& e : *exemplars) {
    absl::StatusOr<std::string> completion = task_->ReferenceCompletion(e);
    if (!completion.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(field_, ".", key, ": ", path, ":", e.id,
                                                     ": an exemplar needs its worked rationale"));
    }
    absl::StrAppend(&out, hinted ? task_->HintedPrompt(e) : task_->Prompt(e), *completion);
  }
  return out;
}

absl::Status FileTaskSuite::Load(const std::string& job_dir) {
  const auto kept = [&](const char* name) {
    return job_dir.empty() ? std::string() : absl::StrCat(job_dir, "/questions/", name);
  };
  absl::StatusOr<std::vector<Question>> pool =
      ReadQuestions("train_file", spec_.train_file(), kept("train.jsonl"), 0, spec_.train_limit());
  if (!pool.ok()) return pool.status();
  absl::StatusOr<std::vector<Question>> eval = ReadQuestions(
      "eval_file", spec_.eval_file(), kept("eval.jsonl"), kEvalIdOffset, spec_.eval_limit());
  if (!eval.ok()) return eval.status();
  absl::StatusOr<std::string> few_shot =
      ReadExemplars("few_shot_file", spec_.few_shot_file(), kept("few_shot.jsonl"), false);
  if (!few_shot.ok()) return few_shot.status();
  absl::StatusOr<std::string> hinted = ReadExemplars(
      "hinted_few_shot_file", spec_.hinted_few_shot_file(), kept("hinted_few_shot.jsonl"), true);
  if (!hinted.ok()) return hinted.status();
  pool_ = *std::move(pool);
  eval_ = *std::move(eval);
  few_shot_ = *std::move(few_shot);
  hinted_few_shot_ = spec_.hinted_few_shot_file().empty() ? few_shot_ : *std::move(hinted);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SeedExample>> FileTaskSuite::SeedExamples() const {
  std::vector<SeedExample> examples;
  for (const Question& q : pool_) {
    if (examples.size() >= spec_.seed_examples()) break;
    if (q.rationale.empty()) continue;
    absl::StatusOr<std::string> completion = task_->ReferenceCompletion(q);
    if (!completion.ok()) return completion.status();
    const bool hinted = examples.size() % 4 == 3;
    examples.push_back({.id = q.id,
                        .prompt = hinted ? task_->HintedPrompt(q) : task_->Prompt(q),
                        .completion = *std::move(completion)});
  }
  if (examples.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field_, ".seed_examples: a model trained from scratch needs seed examples, and none of the ",
        pool_.size(), " training questions has a worked rationale"));
  }
  return examples;
}

std::string FileTaskSuite::GenerationPrompt(const Question& question) const {
  return absl::StrCat(few_shot_, task_->Prompt(question));
}

std::string FileTaskSuite::HintedGenerationPrompt(const Question& question) const {
  return absl::StrCat(hinted_few_shot_, task_->HintedPrompt(question));
}

}  // namespace star
