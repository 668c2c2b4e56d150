#include "tasks/math_task.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "files/excerpt.h"
#include "tasks/numeric_answer.h"

namespace star {
namespace {

constexpr std::string_view kAnswerMark = "####";

// The rationale as the completion writes it: no blank line inside (a blank line ends a
// completion), no surrounding whitespace.
std::string CleanRationale(absl::string_view text) {
  std::string out(absl::StripAsciiWhitespace(text));
  absl::StrReplaceAll({{"\r\n", "\n"}}, &out);
  while (out.find("\n\n") != std::string::npos) absl::StrReplaceAll({{"\n\n", "\n"}}, &out);
  return out;
}

}  // namespace

std::string MathTask::Prompt(const Question& question) const {
  return absl::StrCat("Q: ", question.text, "\nA:");
}

std::string MathTask::HintedPrompt(const Question& question) const {
  return absl::StrCat("Q: ", question.text, " (", question.answer, ")\nA:");
}

std::optional<std::string> MathTask::ExtractAnswer(const std::string& completion) const {
  // The last of the three ways to state an answer decides.
  const std::string lower = absl::AsciiStrToLower(completion);
  size_t best = std::string::npos;
  std::optional<std::string> answer;
  auto consider = [&](size_t at, std::optional<std::string> found) {
    if (at == std::string::npos || (best != std::string::npos && at < best)) return;
    best = at;
    answer = std::move(found);
  };
  if (size_t at = completion.rfind(kAnswerMark); at != std::string::npos) {
    consider(at, LeadingNumber(absl::string_view(completion).substr(at + kAnswerMark.size())));
  }
  static constexpr std::string_view kSentence = "the answer is";
  if (size_t at = lower.rfind(kSentence); at != std::string::npos) {
    absl::string_view rest = absl::string_view(completion).substr(at + kSentence.size());
    consider(at, LeadingNumber(absl::StripPrefix(absl::StripLeadingAsciiWhitespace(rest), ":")));
  }
  static constexpr std::string_view kBoxed = "\\boxed{";
  if (size_t at = completion.rfind(kBoxed); at != std::string::npos) {
    const size_t close = completion.find('}', at);
    std::optional<std::string> inside;
    if (close != std::string::npos) {
      absl::string_view content = absl::StripAsciiWhitespace(
          absl::string_view(completion).substr(at + kBoxed.size(), close - at - kBoxed.size()));
      if (ParseNumber(content)) inside = std::string(content);
    }
    consider(at, std::move(inside));
  }
  return answer;
}

bool MathTask::Verify(const Question& question, const std::string& completion) const {
  std::optional<std::string> answer = ExtractAnswer(completion);
  if (!answer.has_value() || !SameNumber(*answer, question.answer)) return false;
  // A right answer reached through a false or garbled calculation is not a rationale worth
  // training on: every calculator annotation must be arithmetic that holds.
  for (size_t open = completion.find("<<"); open != std::string::npos;
       open = completion.find("<<", open + 2)) {
    const size_t close = completion.find(">>", open + 2);
    if (close == std::string::npos) return false;
    const std::optional<bool> holds = AnnotationHolds(
        absl::string_view(completion).substr(open + 2, close - open - 2));
    if (!holds.value_or(false)) return false;
    open = close;
  }
  return true;
}

absl::StatusOr<std::string> MathTask::ReferenceCompletion(const Question& question) const {
  if (question.rationale.empty()) {
    return NoRationaleError(question);
  }
  return absl::StrCat(" ", question.rationale, "\n#### ", question.answer, "\n\n");
}

absl::StatusOr<Question> MathTask::FromJson(const nlohmann::json& line) const {
  if (!line.is_object()) {
    return absl::InvalidArgumentError(
        "expected an object like {\"question\": \"...\", \"answer\": \"... #### 72\"}");
  }
  absl::StatusOr<std::string> text = StringField(line, "question");
  if (!text.ok()) return text.status();
  absl::StatusOr<std::string> solution = StringField(line, "answer");
  if (!solution.ok()) return solution.status();
  absl::StatusOr<std::string> bucket = BucketOfLine(line);
  if (!bucket.ok()) return bucket.status();
  Question q;
  q.text = std::string(absl::StripAsciiWhitespace(*text));
  if (q.text.empty()) return absl::InvalidArgumentError("\"question\" is empty");
  const size_t mark = solution->rfind(kAnswerMark);
  if (mark == std::string::npos) {
    return absl::InvalidArgumentError(
        "\"answer\" has no \"#### N\" final answer (GSM8K's format: the steps, then \"#### 72\")");
  }
  const absl::string_view final =
      absl::StripAsciiWhitespace(absl::string_view(*solution).substr(mark + kAnswerMark.size()));
  if (!ParseNumber(final)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the final answer \"", Excerpt(final), "\" after \"####\" is not a number"));
  }
  q.answer = std::string(final);
  q.rationale = CleanRationale(absl::string_view(*solution).substr(0, mark));
  q.bucket = *std::move(bucket);
  return q;
}

}  // namespace star
