#include "tasks/numeric_answer.h"

#include <cmath>
#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"

namespace star {
namespace {

__int128 Gcd(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  while (b != 0) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Digits with optional thousands separators ("1,234,567"): the value, and how many digits it
// had; nullopt when the separators are misplaced or there are too many digits.
std::optional<std::pair<__int128, int>> Integer(absl::string_view text) {
  if (text.empty()) return std::nullopt;
  const bool grouped = text.find(',') != absl::string_view::npos;
  __int128 value = 0;
  int digits = 0;
  int since_comma = 0;
  bool seen_comma = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ',') {
      // First group 1-3 digits, every later group exactly 3.
      if (i == 0 || (seen_comma ? since_comma != 3 : since_comma > 3)) return std::nullopt;
      seen_comma = true;
      since_comma = 0;
      continue;
    }
    if (!absl::ascii_isdigit(c)) return std::nullopt;
    if (++digits > 36) return std::nullopt;
    ++since_comma;
    value = value * 10 + (c - '0');
  }
  if (grouped && since_comma != 3) return std::nullopt;
  return std::make_pair(value, digits);
}

}  // namespace

std::optional<Rational> ParseNumber(absl::string_view text) {
  if (text.empty() || text.size() > kMaxNumberChars) return std::nullopt;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (!text.empty() && text[0] == '$') text.remove_prefix(1);
  Rational r;
  if (const size_t slash = text.find('/'); slash != absl::string_view::npos) {
    auto num = Integer(text.substr(0, slash));
    auto den = Integer(text.substr(slash + 1));
    if (!num || !den || den->first == 0) return std::nullopt;
    r.numerator = num->first;
    r.denominator = den->first;
  } else {
    const size_t dot = text.find('.');
    auto whole = Integer(text.substr(0, dot));
    if (!whole) return std::nullopt;
    r.numerator = whole->first;
    if (dot != absl::string_view::npos) {
      const absl::string_view fraction = text.substr(dot + 1);
      if (fraction.empty() || fraction.find(',') != absl::string_view::npos) return std::nullopt;
      auto part = Integer(fraction);
      if (!part || whole->second + part->second > 36) return std::nullopt;
      for (size_t i = 0; i < fraction.size(); ++i) r.denominator *= 10;
      r.numerator = r.numerator * r.denominator + part->first;
    }
  }
  if (negative) r.numerator = -r.numerator;
  const __int128 g = Gcd(r.numerator, r.denominator);
  if (g > 1) {
    r.numerator /= g;
    r.denominator /= g;
  }
  return r;
}

std::optional<std::string> LeadingNumber(absl::string_view text) {
  size_t start = 0;
  while (start < text.size() && (text[start] == ' ' || text[start] == '\t')) ++start;
  size_t end = start;
  auto number_char = [](char c) {
    return absl::ascii_isdigit(c) || c == ',' || c == '.' || c == '/' || c == '$' || c == '-' ||
           c == '+';
  };
  while (end < text.size() && end - start <= kMaxNumberChars && number_char(text[end])) ++end;
  // A sentence's punctuation after the number is not part of it.
  while (end > start && (text[end - 1] == '.' || text[end - 1] == ',')) --end;
  if (end == start) return std::nullopt;
  const absl::string_view number = text.substr(start, end - start);
  if (!ParseNumber(number)) return std::nullopt;
  return std::string(number);
}

bool SameNumber(absl::string_view a, absl::string_view b) {
  std::optional<Rational> x = ParseNumber(a);
  std::optional<Rational> y = ParseNumber(b);
  return x.has_value() && y.has_value() && *x == *y;
}

namespace {

// Recursive descent over an expression, exact in rationals.
class Arithmetic {
 public:
  explicit Arithmetic(absl::string_view text) : text_(text) {}

  std::optional<Rational> Whole() {
    std::optional<Rational> value = Sum();
    Skip();
    if (!value || at_ != text_.size()) return std::nullopt;
    return value;
  }

 private:
  // Operands and results are kept below 10^18 (numerator and denominator), so that a product
  // of two, or a sum of two such products, stays far inside __int128 (about 1.7 * 10^38).
  static constexpr __int128 kLimit = 1'000'000'000'000'000'000LL;

  static bool Small(const Rational& r) {
    return r.numerator < kLimit && r.numerator > -kLimit && r.denominator < kLimit;
  }

  static std::optional<Rational> Reduced(__int128 n, __int128 d) {
    if (d == 0) return std::nullopt;
    if (d < 0) {
      n = -n;
      d = -d;
    }
    const __int128 g = Gcd(n, d);
    if (g > 1) {
      n /= g;
      d /= g;
    }
    if (n >= kLimit || n <= -kLimit || d >= kLimit) return std::nullopt;
    return Rational{n, d};
  }

  static std::optional<Rational> Combine(const Rational& a, char op, const Rational& b) {
    if (!Small(a) || !Small(b)) return std::nullopt;
    switch (op) {
      case '+': return Reduced(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator);
      case '-': return Reduced(a.numerator * b.denominator - b.numerator * a.denominator, a.denominator * b.denominator);
      case '*': return Reduced(a.numerator * b.numerator, a.denominator * b.denominator);
      default: return Reduced(a.numerator * b.denominator, a.denominator * b.numerator);
    }
  }

  void Skip() {
    while (at_ < text_.size() && text_[at_] == ' ') ++at_;
  }
  bool Next(char c) {
    Skip();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  // A left-associative chain of `Operand`s joined by the operators in `ops`.
  template <typename Operand>
  std::optional<Rational> Chain(const char* ops, Operand operand) {
    std::optional<Rational> value = operand();
    while (value) {
      Skip();
      if (at_ >= text_.size() || std::strchr(ops, text_[at_]) == nullptr) break;
      const char op = text_[at_++];
      if (++operations_ > 32) return std::nullopt;
      std::optional<Rational> right = operand();
      if (!right) return std::nullopt;
      value = Combine(*value, op, *right);
    }
    return value;
  }
  std::optional<Rational> Sum() { return Chain("+-", [this] { return Product(); }); }
  std::optional<Rational> Product() { return Chain("*/", [this] { return Factor(); }); }
  std::optional<Rational> Factor() {
    if (++depth_ > 16) return std::nullopt;
    std::optional<Rational> value;
    if (Next('-')) {
      value = Factor();
      if (value) value->numerator = -value->numerator;
    } else if (Next('(')) {
      value = Sum();
      if (!Next(')')) value.reset();
    } else {
      Skip();
      const size_t start = at_;
      while (at_ < text_.size() && (absl::ascii_isdigit(text_[at_]) || text_[at_] == '.' || text_[at_] == ',')) ++at_;
      std::string number(text_.substr(start, at_ - start));
      if (!number.empty() && number[0] == '.') number.insert(0, "0");
      value = ParseNumber(number);
    }
    --depth_;
    return value;
  }

  absl::string_view text_;
  size_t at_ = 0;
  int operations_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<Rational> EvaluateArithmetic(absl::string_view expression) {
  if (expression.empty() || expression.size() > 128) return std::nullopt;
  return Arithmetic(expression).Whole();
}

std::optional<bool> AnnotationHolds(absl::string_view body) {
  const size_t equals = body.rfind('=');
  if (equals == absl::string_view::npos) return std::nullopt;
  const absl::string_view written = absl::StripAsciiWhitespace(body.substr(equals + 1));
  std::optional<Rational> left = EvaluateArithmetic(body.substr(0, equals));
  std::optional<Rational> right = EvaluateArithmetic(written);
  if (!left || !right) return std::nullopt;
  if (*left == *right) return true;
  // A result written with k decimals ("100/3=33.33") holds when it is the exact value rounded
  // or cut to k decimals: within 10^-k of it. A whole number must be exact.
  const size_t dot = written.find('.');
  if (dot == absl::string_view::npos) return false;
  const size_t decimals = written.size() - dot - 1;
  if (decimals == 0 || decimals > 12) return false;
  __int128 scale = 1;
  for (size_t i = 0; i < decimals; ++i) scale *= 10;
  // |l - r| <= 1 / scale, i.e. |ln * rd - rn * ld| * scale <= ld * rd, with every factor below
  // 10^30 / 10^12: compared as long double (the margin is far above its rounding).
  const long double difference =
      static_cast<long double>(left->numerator) / static_cast<long double>(left->denominator) -
      static_cast<long double>(right->numerator) / static_cast<long double>(right->denominator);
  return std::fabs(difference) * static_cast<long double>(scale) <= 1.0L;
}

}  // namespace star
