#include "tasks/file_task.h"

#include "absl/strings/str_cat.h"
#include "files/excerpt.h"

namespace star {

absl::StatusOr<std::string> BucketOfLine(const nlohmann::json& line) {
  for (const char* key : {"bucket", "level"}) {
    const auto it = line.find(key);
    if (it == line.end()) continue;
    if (it->is_string() && !it->get<std::string>().empty() && it->get<std::string>().size() <= 64) {
      return it->get<std::string>();
    }
    if (it->is_number_integer()) return it->dump();
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a short string or an integer, not ",
                                                   Excerpt(it->dump())));
  }
  return std::string("all");
}

absl::Status NoRationaleError(const Question& question) {
  return absl::InvalidArgumentError(
      absl::StrCat("question ", question.id, " has no worked rationale to show"));
}

absl::StatusOr<std::string> StringField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return absl::InvalidArgumentError(absl::StrCat("missing \"", key, "\""));
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", key, "\" must be a string, not ", Excerpt(it->dump())));
  }
  if (it->get_ref<const std::string&>().size() > kMaxFieldBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", key, "\" is longer than ", kMaxFieldBytes, " bytes"));
  }
  return it->get<std::string>();
}

}  // namespace star
