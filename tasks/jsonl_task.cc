#include "tasks/jsonl_task.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "files/excerpt.h"
#include "tasks/numeric_answer.h"

namespace star {
namespace {

constexpr char kDefaultCompletion[] = " {rationale}\nThe answer is {answer}.";
constexpr char kDefaultPattern[] = R"((?i)the answer is\s*([^\n]*?)\.?\s*(?:\n|$))";

absl::Status FieldError(const char* field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("task.jsonl.format.", field, ": ", what));
}

}  // namespace

absl::StatusOr<std::vector<JsonlTask::Piece>> ParseTemplate(absl::string_view text) {
  std::vector<JsonlTask::Piece> pieces;
  std::string literal;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal.push_back(c);
      ++i;
      continue;
    }
    if (c == '}') return absl::InvalidArgumentError(absl::StrCat("a lone '}' at offset ", i, " (write '}}')"));
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("the '{' at offset ", i, " is never closed"));
    }
    const absl::string_view name = text.substr(i + 1, close - i - 1);
    if (name.empty() || name.find('{') != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("the '{' at offset ", i, " names no field"));
    }
    if (!literal.empty()) pieces.push_back({std::move(literal), false});
    literal.clear();
    pieces.push_back({std::string(name), true});
    i = close;
  }
  if (!literal.empty()) pieces.push_back({std::move(literal), false});
  return pieces;
}

absl::StatusOr<std::unique_ptr<JsonlTask>> JsonlTask::Create(const star::v1::JsonlFormat& format) {
  std::unique_ptr<JsonlTask> task(new JsonlTask());
  task->answer_field_ = format.answer_field().empty() ? "answer" : format.answer_field();
  task->rationale_field_ = format.rationale_field();
  task->compare_ = format.compare();
  if (format.prompt_template().empty()) return FieldError("prompt_template", "is required");
  struct Named {
    const char* field;
    const std::string& text;
    std::vector<Piece>* out;
  };
  const std::string completion =
      format.completion_template().empty() ? kDefaultCompletion : format.completion_template();
  for (const Named& t : {Named{"prompt_template", format.prompt_template(), &task->prompt_},
                         Named{"hinted_prompt_template", format.hinted_prompt_template(), &task->hinted_},
                         Named{"completion_template", completion, &task->completion_}}) {
    absl::StatusOr<std::vector<Piece>> pieces = ParseTemplate(t.text);
    if (!pieces.ok()) return FieldError(t.field, pieces.status().message());
    *t.out = *std::move(pieces);
  }
  for (const Piece& p : task->prompt_) {
    if (p.field && (p.text == "answer" || p.text == task->answer_field_)) {
      return FieldError("prompt_template",
                        absl::StrCat("shows the answer ({", p.text, "}); only the hinted prompt may"));
    }
  }
  for (const Piece& p : task->completion_) {
    if (p.field && p.text != "answer" && p.text != "rationale") {
      return FieldError("completion_template",
                        absl::StrCat("may name only {rationale} and {answer}, not {", p.text, "}"));
    }
  }
  const std::string pattern = format.answer_pattern().empty() ? kDefaultPattern : format.answer_pattern();
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(1 << 20);
  task->pattern_ = std::make_unique<RE2>(pattern, options);
  if (!task->pattern_->ok()) {
    return FieldError("answer_pattern", absl::StrCat("is not RE2: ", task->pattern_->error()));
  }
  if (task->pattern_->NumberOfCapturingGroups() != 1) {
    return FieldError("answer_pattern",
                      absl::StrCat("must have exactly one capturing group (the answer), not ",
                                   task->pattern_->NumberOfCapturingGroups()));
  }
  if (!star::v1::JsonlFormat::Compare_IsValid(format.compare())) {
    return FieldError("compare", "must be exact, numeric or case_insensitive");
  }
  return task;
}

std::string JsonlTask::Render(const std::vector<Piece>& pieces, const Question& question) const {
  std::string out;
  for (const Piece& p : pieces) {
    if (!p.field) {
      out += p.text;
    } else if (p.text == "answer" || p.text == answer_field_) {
      out += question.answer;
    } else if (p.text == "rationale") {
      out += question.rationale;
    } else if (const auto it = question.fields.find(p.text); it != question.fields.end()) {
      out += it->second;
    }
  }
  return out;
}

std::string JsonlTask::Prompt(const Question& question) const { return Render(prompt_, question); }

std::string JsonlTask::HintedPrompt(const Question& question) const {
  return Render(hinted_.empty() ? prompt_ : hinted_, question);
}

std::optional<std::string> JsonlTask::ExtractAnswer(const std::string& completion) const {
  // Every match in turn, the last one's group kept. A match that consumed nothing moves on by
  // one byte, so that the scan always ends.
  const re2::StringPiece text(completion.data(), completion.size());
  re2::StringPiece groups[2];
  std::optional<std::string> last;
  size_t at = 0;
  while (at <= text.size() &&
         pattern_->Match(text, at, text.size(), RE2::UNANCHORED, groups, 2)) {
    last = std::string(absl::StripAsciiWhitespace(absl::string_view(groups[1].data(), groups[1].size())));
    const size_t end = static_cast<size_t>(groups[0].data() - text.data()) + groups[0].size();
    at = end > at ? end : at + 1;
  }
  return last;
}

bool JsonlTask::Verify(const Question& question, const std::string& completion) const {
  std::optional<std::string> answer = ExtractAnswer(completion);
  if (!answer.has_value()) return false;
  const absl::string_view gold = absl::StripAsciiWhitespace(question.answer);
  switch (compare_) {
    case star::v1::JsonlFormat::NUMERIC: return SameNumber(*answer, gold);
    case star::v1::JsonlFormat::CASE_INSENSITIVE: return absl::EqualsIgnoreCase(*answer, gold);
    default: return *answer == gold;
  }
}

absl::StatusOr<std::string> JsonlTask::ReferenceCompletion(const Question& question) const {
  if (question.rationale.empty()) {
    return NoRationaleError(question);
  }
  return absl::StrCat(Render(completion_, question), StopString());
}

absl::StatusOr<Question> JsonlTask::FromJson(const nlohmann::json& line) const {
  if (!line.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  Question q;
  for (const auto& [key, value] : line.items()) {
    if (value.is_string()) {
      if (value.get_ref<const std::string&>().size() > kMaxFieldBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", Excerpt(key), "\" is longer than ", kMaxFieldBytes, " bytes"));
      }
      q.fields[key] = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      q.fields[key] = value.dump();
    }
  }
  const auto answer = q.fields.find(answer_field_);
  if (answer == q.fields.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing the answer field \"", Excerpt(answer_field_), "\" (a string or a number)"));
  }
  q.answer = answer->second;
  if (!rationale_field_.empty()) {
    if (const auto it = q.fields.find(rationale_field_); it != q.fields.end()) q.rationale = it->second;
  }
  for (const auto* pieces : {&prompt_, &hinted_}) {
    for (const Piece& p : *pieces) {
      if (p.field && p.text != "answer" && p.text != answer_field_ && !q.fields.contains(p.text)) {
        return absl::InvalidArgumentError(
            absl::StrCat("missing \"", Excerpt(p.text), "\", which the prompt templates show"));
      }
    }
  }
  absl::StatusOr<std::string> bucket = BucketOfLine(line);
  if (!bucket.ok()) return bucket.status();
  q.bucket = *std::move(bucket);
  q.text = Prompt(q);
  return q;
}

}  // namespace star
