#include "tasks/task_suite.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "files/bounded_read.h"
#include "tasks/addition_suite.h"
#include "tasks/file_task_suite.h"
#include "tasks/jsonl_task.h"
#include "tasks/math_task.h"
#include "tasks/multiple_choice_task.h"

namespace star {
namespace {

// The file task a spec names, with the spec field it sits under; nullptr spec for addition or
// no task.
struct FileTaskKind {
  const char* field = nullptr;
  const star::v1::FileTaskSpec* spec = nullptr;
};

FileTaskKind FileKind(const star::v1::TaskSpec& task) {
  switch (task.kind_case()) {
    case star::v1::TaskSpec::kMath: return {"task.math", &task.math()};
    case star::v1::TaskSpec::kMultipleChoice: return {"task.multiple_choice", &task.multiple_choice()};
    case star::v1::TaskSpec::kJsonl: return {"task.jsonl", &task.jsonl()};
    default: return {};
  }
}

absl::Status ValidateFileTask(const star::v1::JobSpec& spec, const FileTaskKind& kind) {
  const star::v1::FileTaskSpec& f = *kind.spec;
  absl::Status s;
  auto check = [&](bool ok, const char* field, const std::string& what) {
    if (s.ok() && !ok) s = absl::InvalidArgumentError(absl::StrCat(kind.field, ".", field, ": ", what));
  };
  check(!f.train_file().empty(), "train_file", "is required (the training questions, JSON Lines)");
  check(!f.eval_file().empty(), "eval_file", "is required (the held-out questions, JSON Lines)");
  for (const auto& [field, path] : {std::pair{"train_file", &f.train_file()},
                                    std::pair{"eval_file", &f.eval_file()},
                                    std::pair{"few_shot_file", &f.few_shot_file()},
                                    std::pair{"hinted_few_shot_file", &f.hinted_few_shot_file()}}) {
    check(path->size() <= kMaxSpecPathBytes, field, "is too long");
  }
  check(f.train_limit() <= 10'000'000, "train_limit", "must be at most 10000000 (0: all)");
  check(f.eval_limit() <= 10'000'000, "eval_limit", "must be at most 10000000 (0: all)");
  check(f.seed_examples() <= 1'000'000, "seed_examples", "must be at most 1000000");
  check(spec.model().init_config().empty() || f.seed_examples() >= 1, "seed_examples",
        "must be at least 1: a model trained from scratch (model.init_config) learns the format "
        "from the worked rationales of that many training questions");
  const bool jsonl = spec.task().kind_case() == star::v1::TaskSpec::kJsonl;
  check(jsonl || !f.has_format(), "format", "only the jsonl task has a format");
  if (!s.ok() || !jsonl) return s;
  absl::StatusOr<std::unique_ptr<JsonlTask>> task = JsonlTask::Create(f.format());
  if (!task.ok()) return task.status();
  check(!spec.filter().rationalization() || !f.format().hinted_prompt_template().empty(),
        "format.hinted_prompt_template",
        "is required with filter.rationalization (the prompt that shows {answer} as a hint)");
  return s;
}

}  // namespace

absl::Status ValidateTaskSpec(const star::v1::JobSpec& spec) {
  if (spec.task().has_addition()) return ValidateAdditionSpec(spec.task().addition());
  const FileTaskKind kind = FileKind(spec.task());
  if (kind.spec == nullptr) {
    return absl::InvalidArgumentError(
        "task: must name a task (task.addition, task.math, task.multiple_choice or task.jsonl)");
  }
  return ValidateFileTask(spec, kind);
}

absl::StatusOr<std::unique_ptr<TaskSuite>> MakeTaskSuite(const star::v1::JobSpec& spec) {
  if (spec.task().has_addition()) {
    return std::make_unique<AdditionSuite>(spec.task().addition(), spec.seed());
  }
  const FileTaskKind kind = FileKind(spec.task());
  std::unique_ptr<FileTask> task;
  switch (spec.task().kind_case()) {
    case star::v1::TaskSpec::kMath: task = std::make_unique<MathTask>(); break;
    case star::v1::TaskSpec::kMultipleChoice: task = std::make_unique<MultipleChoiceTask>(); break;
    case star::v1::TaskSpec::kJsonl: {
      absl::StatusOr<std::unique_ptr<JsonlTask>> jsonl = JsonlTask::Create(spec.task().jsonl().format());
      if (!jsonl.ok()) return jsonl.status();
      task = *std::move(jsonl);
      break;
    }
    default:
      return absl::InvalidArgumentError("task: names no known task");
  }
  return std::make_unique<FileTaskSuite>(kind.field, *kind.spec, std::move(task));
}

std::vector<TaskFile> TaskFiles(star::v1::TaskSpec& task) {
  std::vector<TaskFile> files;
  if (task.has_addition()) {
    files.push_back({"task.addition.train_file", task.mutable_addition()->mutable_train_file()});
    files.push_back({"task.addition.eval_file", task.mutable_addition()->mutable_eval_file()});
    return files;
  }
  const FileTaskKind kind = FileKind(task);
  if (kind.field == nullptr) return files;
  const std::string prefix = kind.field;
  star::v1::FileTaskSpec* f = task.has_math()              ? task.mutable_math()
                              : task.has_multiple_choice() ? task.mutable_multiple_choice()
                                                           : task.mutable_jsonl();
  files.push_back({prefix + ".train_file", f->mutable_train_file()});
  files.push_back({prefix + ".eval_file", f->mutable_eval_file()});
  files.push_back({prefix + ".few_shot_file", f->mutable_few_shot_file()});
  files.push_back({prefix + ".hinted_few_shot_file", f->mutable_hinted_few_shot_file()});
  return files;
}

absl::StatusOr<std::string> ReadTaskFile(const std::string& field, const std::string& path,
                                         const std::string& kept) {
  std::error_code ec;
  const std::string& source = !kept.empty() && std::filesystem::exists(kept, ec) ? kept : path;
  // The path comes from whoever submits the job: only a regular file is read, never a device or
  // a FIFO, and never more than the limit, whatever size the file claims.
  absl::StatusOr<std::string> text = ReadFileBounded(source, kMaxQuestionFileBytes);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(field, ": ", text.status().message()));
  }
  return text;
}

absl::Status KeepTaskFile(const std::string& field, const std::string& kept, const std::string& text) {
  std::error_code ec;
  if (kept.empty() || std::filesystem::exists(kept, ec)) return absl::OkStatus();
  std::filesystem::create_directories(std::filesystem::path(kept).parent_path(), ec);
  // Written under a temporary name, so that a crash leaves no half copy behind.
  const std::string temp = kept + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return absl::InternalError(absl::StrCat(field, ": writing ", temp, " failed"));
  }
  std::filesystem::rename(temp, kept, ec);
  if (ec) return absl::InternalError(absl::StrCat(field, ": keeping a copy at ", kept, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace star
