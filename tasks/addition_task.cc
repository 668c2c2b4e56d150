#include "tasks/addition_task.h"

#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace star {

std::string SpacedDigits(uint64_t value, int digits) {
  std::string plain = std::to_string(value);
  if (static_cast<int>(plain.size()) < digits) plain.insert(0, digits - plain.size(), '0');
  std::string out;
  for (size_t i = 0; i < plain.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out.push_back(plain[i]);
  }
  return out;
}

Question AdditionTask::MakeQuestion(uint64_t id, uint64_t a, uint64_t b, int digits) {
  Question q;
  q.id = id;
  q.text = absl::StrCat(SpacedDigits(a, digits), " + ", SpacedDigits(b, digits));
  q.answer = SpacedDigits(a + b, 1);
  q.bucket = std::to_string(digits);
  return q;
}

std::vector<Question> AdditionTask::Generate(int digits, int count, uint64_t seed,
                                             uint64_t first_id) {
  std::mt19937_64 rng(seed);
  uint64_t low = 1;
  for (int i = 1; i < digits; ++i) low *= 10;
  uint64_t high = low * 10 - 1;
  if (digits == 1) low = 0;
  std::uniform_int_distribution<uint64_t> operand(low, high);
  std::vector<Question> out;
  out.reserve(count);
  for (int i = 0; i < count; ++i) {
    uint64_t a = operand(rng);
    uint64_t b = operand(rng);
    out.push_back(MakeQuestion(first_id + static_cast<uint64_t>(i), a, b, digits));
  }
  return out;
}

namespace {

std::string WithoutSpaces(absl::string_view text) { return absl::StrReplaceAll(text, {{" ", ""}}); }

// The digits of `digits` (least significant first) as a spaced answer, most
// significant first.
std::string SpacedAnswer(const std::vector<int>& digits) {
  std::string answer;
  for (size_t i = digits.size(); i > 0; --i) {
    if (!answer.empty()) answer.push_back(' ');
    answer.push_back(static_cast<char>('0' + digits[i - 1]));
  }
  return answer;
}

// Adds one compact column line, "a+b+c=s" or "a+b+c=tu" (single digits, c the carry of the
// line before), to a derivation: its sum's last digit to `digits` (least significant first)
// and its carry to `carry`. False when the line is malformed, takes the wrong carry or adds
// wrongly.
bool AddColumnLine(absl::string_view line, int& carry, std::vector<int>& digits) {
  auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : -1; };
  if (line.size() != 7 && line.size() != 8) return false;
  if (line[1] != '+' || line[3] != '+' || line[5] != '=') return false;
  const int a = digit(line[0]), b = digit(line[2]), c = digit(line[4]);
  if (a < 0 || b < 0 || c != carry) return false;
  const int sum = a + b + c;
  const int written = line.size() == 7 ? digit(line[6])
                      : digit(line[6]) > 0 && digit(line[7]) >= 0
                          ? digit(line[6]) * 10 + digit(line[7])
                          : -1;
  if (written != sum) return false;
  digits.push_back(sum % 10);
  carry = sum / 10;
  return true;
}

// The column letter of 0-based column `column` (0: the units), for kTagged.
char ColumnTag(size_t column) { return static_cast<char>('a' + column); }

// "6 2 4 + 2 5 7" as "c6b2a4+c2b5a7": each digit after its column's letter.
// Text that is not two operands of at most 26 digits is left as it is, without
// spaces.
std::string TaggedText(absl::string_view text) {
  std::vector<absl::string_view> sides = absl::StrSplit(text, " + ");
  std::string out;
  for (size_t s = 0; s < sides.size(); ++s) {
    const std::string digits = WithoutSpaces(sides[s]);
    if (sides.size() != 2 || digits.empty() || digits.size() > 26) return WithoutSpaces(text);
    if (s > 0) out.push_back('+');
    for (size_t i = 0; i < digits.size(); ++i) {
      out.push_back(ColumnTag(digits.size() - 1 - i));
      out.push_back(digits[i]);
    }
  }
  return out;
}

}  // namespace

std::string AdditionTask::CompactQuestion(const Question& question) const {
  return format_ == AdditionFormat::kTagged ? TaggedText(question.text)
                                            : WithoutSpaces(question.text);
}

std::string AdditionTask::Prompt(const Question& question) const {
  if (format_ == AdditionFormat::kCompact || format_ == AdditionFormat::kTagged) {
    return absl::StrCat(CompactQuestion(question), "\n");
  }
  return absl::StrCat("Input:\n", question.text, "\nTarget:\n");
}

std::string AdditionTask::HintedPrompt(const Question& question) const {
  if (format_ == AdditionFormat::kCompact || format_ == AdditionFormat::kTagged) {
    return absl::StrCat(CompactQuestion(question), "\nHint:", WithoutSpaces(question.answer), "\n");
  }
  return absl::StrCat("Input:\n", question.text, "\nHint: ", question.answer, "\nTarget:\n");
}

std::optional<std::string> AdditionTask::ExtractAnswer(const std::string& completion) const {
  if (format_ == AdditionFormat::kCompact) return CompactAnswer(completion);
  if (format_ == AdditionFormat::kTagged) return CompactAnswer(completion, /*tagged=*/true);
  static constexpr char kEnd[] = "</scratch>\n";
  size_t end = completion.rfind(kEnd);
  if (end == std::string::npos) return std::nullopt;
  std::string rest = completion.substr(end + sizeof(kEnd) - 1);
  size_t newline = rest.find('\n');
  std::string line = rest.substr(0, newline);
  if (line.empty()) return std::nullopt;
  if (format_ == AdditionFormat::kColumns) {
    std::optional<std::string> derived = ColumnsAnswer(completion.substr(0, end));
    if (!derived.has_value() || *derived != line) return std::nullopt;
  }
  return line;
}

std::optional<std::string> AdditionTask::ColumnsAnswer(absl::string_view scratchpad) {
  static constexpr char kStart[] = "<scratch>\n";
  if (!absl::StartsWith(scratchpad, kStart)) return std::nullopt;
  scratchpad.remove_prefix(sizeof(kStart) - 1);
  if (scratchpad.empty() || scratchpad.back() != '\n') return std::nullopt;
  scratchpad.remove_suffix(1);
  std::vector<int> digits;  // least significant first
  int carry = 0;
  for (absl::string_view line : absl::StrSplit(scratchpad, '\n')) {
    // "a + b + c = s" or "a + b + c = t u": the compact line with one space between any two
    // characters.
    const std::string compact = WithoutSpaces(line);
    if (absl::StrJoin(compact, " ", [](std::string* out, char c) { out->push_back(c); }) != line ||
        !AddColumnLine(compact, carry, digits)) {
      return std::nullopt;
    }
  }
  if (carry > 0) digits.push_back(carry);
  return SpacedAnswer(digits);
}

std::optional<std::string> AdditionTask::CompactAnswer(absl::string_view completion, bool tagged) {
  static constexpr absl::string_view kEnd = "\n\n";
  const size_t end = completion.find(kEnd);
  if (end == absl::string_view::npos || end + kEnd.size() != completion.size()) return std::nullopt;
  std::vector<absl::string_view> lines = absl::StrSplit(completion.substr(0, end), '\n');
  std::vector<int> digits;  // least significant first
  int carry = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (tagged) {  // after the column's letter
      if (i >= 26 || line.empty() || line[0] != ColumnTag(i)) return std::nullopt;
      line.remove_prefix(1);
    }
    if (!AddColumnLine(line, carry, digits)) return std::nullopt;
  }
  if (carry > 0) digits.push_back(carry);
  return SpacedAnswer(digits);
}

namespace {

// The scratchpad of Nye et al.: each line drops the last digit of both operands
// and prepends the new result digit. `a` and `b` are most significant first.
std::string ScratchpadLines(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<std::string> lines = {"<scratch>"};
  std::vector<int> result;  // most significant first
  int carry = 0;
  auto line = [&](size_t remaining) {
    std::string operands;
    if (remaining > 0) {
      std::vector<int> ra(a.begin(), a.begin() + remaining), rb(b.begin(), b.begin() + remaining);
      operands = absl::StrCat(absl::StrJoin(ra, " "), " + ", absl::StrJoin(rb, " "), " ");
    }
    std::string res = absl::StrJoin(result, " ");
    return absl::StrCat(operands, ",", res.empty() ? "" : " ", res, " C: ", carry);
  };
  lines.push_back(line(a.size()));
  for (size_t remaining = a.size(); remaining > 0; --remaining) {
    int sum = a[remaining - 1] + b[remaining - 1] + carry;
    result.insert(result.begin(), sum % 10);
    carry = sum / 10;
    lines.push_back(line(remaining - 1));
  }
  std::vector<int> final_digits = result;
  final_digits.insert(final_digits.begin(), carry);
  lines.push_back(absl::StrJoin(final_digits, " "));
  lines.push_back("</scratch>");
  return absl::StrJoin(lines, "\n");
}

// One line per column, least significant first: "a + b + carry = sum".
std::string ColumnLines(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<std::string> lines = {"<scratch>"};
  int carry = 0;
  for (size_t i = a.size(); i > 0; --i) {
    int sum = a[i - 1] + b[i - 1] + carry;
    lines.push_back(
        absl::StrCat(a[i - 1], " + ", b[i - 1], " + ", carry, " = ",
                     sum >= 10 ? absl::StrCat(sum / 10, " ", sum % 10) : absl::StrCat(sum)));
    carry = sum / 10;
  }
  lines.push_back("</scratch>");
  return absl::StrJoin(lines, "\n");
}

// The kCompact completion: "a+b+c=s" per column, least significant first, then
// the answer; `tagged` (kTagged): each line after its column's letter.
std::string CompactLines(const std::vector<int>& a, const std::vector<int>& b, bool tagged) {
  std::vector<std::string> lines;
  int carry = 0;
  for (size_t i = a.size(); i > 0; --i) {
    int sum = a[i - 1] + b[i - 1] + carry;
    const std::string tag = tagged ? std::string(1, ColumnTag(a.size() - i)) : "";
    lines.push_back(absl::StrCat(tag, a[i - 1], "+", b[i - 1], "+", carry, "=", sum));
    carry = sum / 10;
  }
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n\n");
}

}  // namespace

AdditionTask AdditionTask::ForSpec(const star::v1::AdditionTaskSpec& spec) {
  AdditionFormat format = AdditionFormat::kScratchpad;
  switch (spec.format()) {
    case star::v1::AdditionTaskSpec::COLUMNS: format = AdditionFormat::kColumns; break;
    case star::v1::AdditionTaskSpec::COMPACT: format = AdditionFormat::kCompact; break;
    case star::v1::AdditionTaskSpec::TAGGED: format = AdditionFormat::kTagged; break;
    default: break;
  }
  return AdditionTask(format, static_cast<int>(spec.min_digits()), static_cast<int>(spec.max_digits()));
}

bool AdditionTask::Trains(const std::string& bucket) const {
  int digits = 0;
  if (!absl::SimpleAtoi(bucket, &digits)) return true;
  return digits >= min_digits_ && digits <= max_digits_;
}

std::string AdditionTask::TrainedLabel() const {
  return min_digits_ == max_digits_ ? absl::StrCat(min_digits_, "d")
                                    : absl::StrCat(min_digits_, "-", max_digits_, "d");
}

absl::StatusOr<std::string> AdditionTask::ReferenceCompletion(const Question& question) const {
  std::vector<std::string> sides = absl::StrSplit(question.text, " + ");
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("question ", question.id, ": '", question.text, "' is not 'D .. D + D .. D'"));
  };
  if (sides.size() != 2) return bad();
  std::vector<int> a, b;
  for (auto [side, digits] : {std::pair{sides[0], &a}, std::pair{sides[1], &b}}) {
    for (absl::string_view d : absl::StrSplit(side, ' ')) {
      if (d.size() != 1 || d[0] < '0' || d[0] > '9') return bad();
      digits->push_back(d[0] - '0');
    }
  }
  if (a.size() != b.size() || a.empty()) return bad();
  if (format_ == AdditionFormat::kCompact || format_ == AdditionFormat::kTagged) {
    if (a.size() > 26)
      return absl::InvalidArgumentError(
          absl::StrCat("question ", question.id, ": more than 26 digits"));
    return CompactLines(a, b, format_ == AdditionFormat::kTagged);
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum = sum * 10 + a[i] + b[i];
  const std::string rationale =
      format_ == AdditionFormat::kColumns ? ColumnLines(a, b) : ScratchpadLines(a, b);
  return absl::StrCat(rationale, "\n", SpacedDigits(sum, 1), "\n\n");
}

}  // namespace star
