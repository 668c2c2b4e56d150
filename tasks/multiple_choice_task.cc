#include "tasks/multiple_choice_task.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "files/excerpt.h"

namespace star {
namespace {

constexpr absl::string_view kHintMark = "(CORRECT)";

std::string Render(const Question& question, bool hinted) {
  std::string out = absl::StrCat("Q: ", question.text, "\nAnswer Choices:\n");
  for (const Choice& c : question.choices) {
    absl::StrAppend(&out, "(", absl::AsciiStrToLower(c.label), ") ", c.text);
    if (hinted && c.label == question.answer) absl::StrAppend(&out, " ", kHintMark);
    out.push_back('\n');
  }
  out += "A:";
  return out;
}

// One line of text (a question or a choice): newlines would break the prompt's layout.
std::string OneLine(absl::string_view text) {
  std::string out(absl::StripAsciiWhitespace(text));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return out;
}

}  // namespace

std::string MultipleChoiceTask::Prompt(const Question& question) const { return Render(question, false); }

std::string MultipleChoiceTask::HintedPrompt(const Question& question) const {
  return Render(question, true);
}

std::optional<std::string> MultipleChoiceTask::ExtractAnswer(const std::string& completion) const {
  const std::string lower = absl::AsciiStrToLower(completion);
  const size_t at = lower.rfind("the answer is");
  if (at == std::string::npos) return std::nullopt;
  // "(x)" later on the same line: the last one there.
  const size_t line_end = std::min(lower.find('\n', at), lower.size());
  std::optional<std::string> label;
  for (size_t i = at; i + 2 < line_end; ++i) {
    if (lower[i] == '(' && absl::ascii_isalpha(lower[i + 1]) && lower[i + 2] == ')') {
      label = std::string(1, absl::ascii_toupper(lower[i + 1]));
    }
  }
  return label;
}

bool MultipleChoiceTask::Verify(const Question& question, const std::string& completion) const {
  if (absl::StrContains(completion, kHintMark)) return false;
  std::optional<std::string> label = ExtractAnswer(completion);
  return label.has_value() && absl::EqualsIgnoreCase(*label, question.answer);
}

absl::StatusOr<std::string> MultipleChoiceTask::ReferenceCompletion(const Question& question) const {
  if (question.rationale.empty()) {
    return NoRationaleError(question);
  }
  for (const Choice& c : question.choices) {
    if (c.label != question.answer) continue;
    return absl::StrCat(" ", question.rationale, " Therefore, the answer is ", c.text, " (",
                        absl::AsciiStrToLower(c.label), ").\n\n");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("question ", question.id, ": the answer ", question.answer, " is not a choice"));
}

absl::StatusOr<Question> MultipleChoiceTask::FromJson(const nlohmann::json& line) const {
  if (!line.is_object() || !line.contains("question") || !line["question"].is_object()) {
    return absl::InvalidArgumentError(
        "expected an object like {\"question\": {\"stem\": \"...\", \"choices\": [{\"label\": "
        "\"A\", \"text\": \"...\"}, ...]}, \"answerKey\": \"A\"}");
  }
  const nlohmann::json& question = line["question"];
  absl::StatusOr<std::string> stem = StringField(question, "stem");
  if (!stem.ok()) return absl::InvalidArgumentError(absl::StrCat("question.", stem.status().message()));
  absl::StatusOr<std::string> key = StringField(line, "answerKey");
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> bucket = BucketOfLine(line);
  if (!bucket.ok()) return bucket.status();
  Question q;
  q.text = OneLine(*stem);
  if (q.text.empty()) return absl::InvalidArgumentError("\"question.stem\" is empty");
  const auto choices = question.find("choices");
  if (choices == question.end() || !choices->is_array() || choices->size() < 2 || choices->size() > 26) {
    return absl::InvalidArgumentError("\"question.choices\" must be a list of 2-26 choices");
  }
  std::set<std::string> labels;
  for (size_t i = 0; i < choices->size(); ++i) {
    const nlohmann::json& c = (*choices)[i];
    const std::string where = absl::StrCat("question.choices[", i, "]");
    if (!c.is_object()) return absl::InvalidArgumentError(absl::StrCat("\"", where, "\" must be an object"));
    absl::StatusOr<std::string> label = StringField(c, "label");
    absl::StatusOr<std::string> text = StringField(c, "text");
    if (!label.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ".", label.status().message()));
    if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ".", text.status().message()));
    if (label->size() != 1 || !absl::ascii_isalpha((*label)[0])) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", where, ".label\" must be one letter, not \"", Excerpt(*label), "\""));
    }
    const std::string upper = absl::AsciiStrToUpper(*label);
    if (!labels.insert(upper).second) {
      return absl::InvalidArgumentError(absl::StrCat("\"", where, ".label\" ", upper, " appears twice"));
    }
    q.choices.push_back({upper, OneLine(*text)});
  }
  q.answer = absl::AsciiStrToUpper(*key);
  if (!labels.contains(q.answer)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"answerKey\" \"", Excerpt(*key), "\" is not one of the choices' labels"));
  }
  if (line.contains("rationale")) {
    absl::StatusOr<std::string> rationale = StringField(line, "rationale");
    if (!rationale.ok()) return rationale.status();
    q.rationale = OneLine(*rationale);
  }
  q.bucket = *std::move(bucket);
  return q;
}

}  // namespace star
