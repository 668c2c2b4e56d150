#ifndef STAR_TASKS_NUMERIC_ANSWER_H_
#define STAR_TASKS_NUMERIC_ANSWER_H_

// Numbers as a math answer writes them, compared by value: "1,234" = "1234", "$5" = "5",
// "7.0" = "7", "+3" = "3", "-0" = "0", "3/4" = "0.75" = "6/8". What is not one number in one of
// these forms is not a number (a thousands separator in the wrong place, "1.2.3", "3/0", words),
// and nothing longer than kMaxNumberChars is read. Pure and allocation-light: the coordinator runs
// it on every sample a worker sends.

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace star {

inline constexpr size_t kMaxNumberChars = 40;

// An exact rational, reduced, with a positive denominator.
struct Rational {
  __int128 numerator = 0;
  __int128 denominator = 1;
  bool operator==(const Rational&) const = default;
};

// `text`, exactly (no surrounding spaces, words or units), as a number.
std::optional<Rational> ParseNumber(absl::string_view text);

// The number a piece of text starts with, as written ("$1,234.50" of "$1,234.50 in total."),
// after leading spaces; nullopt when it starts with none. A sentence's final '.' or ',' is not
// part of it.
std::optional<std::string> LeadingNumber(absl::string_view text);

// Whether both are numbers of equal value.
bool SameNumber(absl::string_view a, absl::string_view b);

// The exact value of arithmetic as GSM8K's calculator annotations write it: numbers ("12",
// "0.5", ".5", "1,000"), + - * /, parentheses and unary minus ("(12-4)/2*-1"). nullopt for
// anything else, a division by zero, more than 32 operations, 128 characters, or an operand or
// result of 10^18 or more (numerator or denominator).
std::optional<Rational> EvaluateArithmetic(absl::string_view expression);

// Whether a calculator annotation's body ("3*4=12", what GSM8K writes between "<<" and ">>")
// holds: true or false when its left side evaluates and its right side is a number; nullopt when
// it cannot be judged (not arithmetic, no '=').
std::optional<bool> AnnotationHolds(absl::string_view body);

}  // namespace star

#endif  // STAR_TASKS_NUMERIC_ANSWER_H_
