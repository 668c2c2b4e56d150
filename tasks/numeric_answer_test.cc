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

}  // namespace
}  // namespace star
