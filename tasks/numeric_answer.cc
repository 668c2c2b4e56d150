#include "tasks/numeric_answer.h"

#include "absl/strings/ascii.h"

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

}  // namespace star
