#include "tasks/numeric_answer.h"

#include "gtest/gtest.h"

namespace star {
namespace {

TEST(NumericAnswerTest, EqualValuesWrittenDifferentlyAgree) {
  EXPECT_TRUE(SameNumber("1,234", "1234"));
  EXPECT_TRUE(SameNumber("$5", "5"));
  EXPECT_TRUE(SameNumber("-$5", "-5"));
  EXPECT_TRUE(SameNumber("7.0", "7"));
  EXPECT_TRUE(SameNumber("7.50", "7.5"));
  EXPECT_TRUE(SameNumber("+3", "3"));
  EXPECT_TRUE(SameNumber("-0", "0"));
  EXPECT_TRUE(SameNumber("3/4", "0.75"));
  EXPECT_TRUE(SameNumber("6/8", "3/4"));
  EXPECT_TRUE(SameNumber("-1/2", "-0.5"));
  EXPECT_TRUE(SameNumber("1,000,000", "1000000.000"));
  EXPECT_TRUE(SameNumber("123456789012345678901234567890", "123,456,789,012,345,678,901,234,567,890"));
}

TEST(NumericAnswerTest, DifferentValuesAndNonNumbersDisagree) {
  EXPECT_FALSE(SameNumber("-3", "3"));
  EXPECT_FALSE(SameNumber("7.01", "7"));
  EXPECT_FALSE(SameNumber("1/3", "0.333"));
  for (const char* bad : {"", "1,23", "12,3456", ",123", "1.2.3", "3/0", "abc", "7 apples", "1.",
                          ".5", "--3", "$", "3/", "/4", "1,234.5,6", " 7", "7 "}) {
    EXPECT_FALSE(ParseNumber(bad).has_value()) << bad;
    EXPECT_FALSE(SameNumber(bad, bad)) << bad;
  }
  // Longer than kMaxNumberChars, or more digits than are compared exactly: not read.
  EXPECT_FALSE(ParseNumber(std::string(41, '1')).has_value());
  EXPECT_FALSE(ParseNumber(std::string(37, '1')).has_value());
}

TEST(NumericAnswerTest, ANumberIsReducedWithAPositiveDenominator) {
  EXPECT_EQ(ParseNumber("-6/8"), (Rational{-3, 4}));
  EXPECT_EQ(ParseNumber("2.50"), (Rational{5, 2}));
  EXPECT_EQ(ParseNumber("$1,200"), (Rational{1200, 1}));
}

TEST(NumericAnswerTest, TheLeadingNumberStopsBeforeASentencesPunctuation) {
  EXPECT_EQ(LeadingNumber(" $1,234.50 in total."), "$1,234.50");
  EXPECT_EQ(LeadingNumber("72."), "72");
  EXPECT_EQ(LeadingNumber("18, so"), "18");
  EXPECT_EQ(LeadingNumber("-4/5"), "-4/5");
  EXPECT_FALSE(LeadingNumber("seventy-two").has_value());
  EXPECT_FALSE(LeadingNumber("").has_value());
  EXPECT_FALSE(LeadingNumber("1,2,3").has_value());
}

TEST(NumericAnswerTest, ArithmeticIsEvaluatedExactly) {
  EXPECT_EQ(EvaluateArithmetic("3*4+2"), (Rational{14, 1}));
  EXPECT_EQ(EvaluateArithmetic("(12-4)/2*-1"), (Rational{-4, 1}));
  EXPECT_EQ(EvaluateArithmetic("10*.5"), (Rational{5, 1}));
  EXPECT_EQ(EvaluateArithmetic("1,000 / 8"), (Rational{125, 1}));
  EXPECT_EQ(EvaluateArithmetic("1/3+1/6"), (Rational{1, 2}));
  EXPECT_EQ(EvaluateArithmetic("2-3-4"), (Rational{-5, 1}));  // left to right
  EXPECT_EQ(EvaluateArithmetic("8/4/2"), (Rational{1, 1}));
  for (const char* bad : {"", "3/0", "3+", "(3", "3)", "x*2", "3**2", "2^3", "1e5"}) {
    EXPECT_FALSE(EvaluateArithmetic(bad).has_value()) << bad;
  }
  // Too large to keep exact, too many operations, too deep.
  EXPECT_FALSE(EvaluateArithmetic("999999999999999999*999999999999999999*99").has_value());
  std::string long_sum = "1";
  for (int i = 0; i < 40; ++i) long_sum += "+1";
  EXPECT_FALSE(EvaluateArithmetic(long_sum).has_value());
  EXPECT_FALSE(EvaluateArithmetic(std::string(20, '(') + "1" + std::string(20, ')')).has_value());
}

TEST(NumericAnswerTest, CalculatorAnnotationsHoldWhenTheirArithmeticIsRight) {
  EXPECT_EQ(AnnotationHolds("3*4=12"), true);
  EXPECT_EQ(AnnotationHolds("24-20=24"), false);
  EXPECT_EQ(AnnotationHolds("7/2=3.5"), true);
  // A result rounded or cut to the decimals written holds; a whole number must be exact.
  EXPECT_EQ(AnnotationHolds("100/3=33.33"), true);
  EXPECT_EQ(AnnotationHolds("2/3=0.67"), true);
  EXPECT_EQ(AnnotationHolds("2/3=0.7"), true);
  EXPECT_EQ(AnnotationHolds("2/3=0.5"), false);
  EXPECT_EQ(AnnotationHolds("7/2=3"), false);
  EXPECT_EQ(AnnotationHolds("12"), std::nullopt);
  EXPECT_EQ(AnnotationHolds("apples=3"), std::nullopt);
}

}  // namespace
}  // namespace star
