#include "tasks/addition_dataset.h"

#include "absl/strings/str_cat.h"
#include "files/bounded_read.h"
#include "files/excerpt.h"
#include "nlohmann/json.hpp"
#include "tasks/addition_task.h"
#include "tasks/json_lines.h"

namespace star {
namespace {

using Json = nlohmann::json;

int Digits(uint64_t value) {
  int digits = 1;
  while (value >= 10) {
    value /= 10;
    ++digits;
  }
  return digits;
}

}  // namespace

absl::StatusOr<std::vector<Question>> ParseAdditionDataset(std::string_view text,
                                                           std::string_view source_name,
                                                           const AdditionDatasetOptions& options) {
  const std::string name(source_name);
  std::vector<Question> questions;
  absl::Status status = ForEachNonBlankLine(text, [&](uint64_t line_number, std::string_view line) {
    const auto error = [&](const auto&... what) {
      return absl::InvalidArgumentError(absl::StrCat(name, ":", line_number, ": ", what...));
    };
    const Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return error("invalid JSON");
    if (!j.is_object()) return error("expected an object like {\"a\": 624, \"b\": 257}");
    for (const auto& [key, value] : j.items()) {
      if (key != "a" && key != "b" && key != "answer") {
        return error("unknown key \"", Excerpt(key), "\" (known: a, b, answer)");
      }
    }
    uint64_t operands[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
      const char* key = i == 0 ? "a" : "b";
      const auto it = j.find(key);
      if (it == j.end()) return error("missing \"", key, "\"");
      if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
        return error("\"", key, "\" must be a non-negative integer, not ", Excerpt(it->dump()));
      }
      operands[i] = it->get<uint64_t>();
      if (Digits(operands[i]) > 18) return error("\"", key, "\" has more than 18 digits");
    }
    const int digits = Digits(operands[0]);
    if (Digits(operands[1]) != digits) {
      return error("operands ", operands[0], " and ", operands[1], " have different lengths (",
                   digits, " and ", Digits(operands[1]), " digits)");
    }
    if (digits < options.min_digits || digits > options.max_digits) {
      return error(digits, "-digit operands are outside the job's lengths (", options.min_digits,
                   "-", options.max_digits, " digits)");
    }
    const uint64_t sum = operands[0] + operands[1];
    if (const auto it = j.find("answer"); it != j.end()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
          it->get<uint64_t>() != sum) {
        return error("\"answer\" ", Excerpt(it->dump()), " is not ", operands[0], " + ", operands[1],
                     " = ", sum);
      }
    }
    questions.push_back(AdditionTask::MakeQuestion(
        options.first_id + static_cast<uint64_t>(digits) * options.ids_per_length + line_number,
        operands[0],
        operands[1], digits));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (questions.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": holds no questions"));
  }
  return questions;
}

absl::StatusOr<std::vector<Question>> LoadAdditionDataset(const std::string& path,
                                                          const AdditionDatasetOptions& options) {
  // The path comes from whoever submits the job: only a regular file is read, never a device,
  // a FIFO or a directory that could block or exhaust the coordinator, and never more than the
  // limit, whatever size the file claims.
  absl::StatusOr<std::string> text = ReadFileBounded(path, kMaxAdditionDatasetBytes);
  if (!text.ok()) return text.status();
  return ParseAdditionDataset(*text, path, options);
}

}  // namespace star
