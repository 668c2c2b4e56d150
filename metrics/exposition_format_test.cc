#include "metrics/exposition_format.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace star::metrics {
namespace {

TEST(ExpositionFormatTest, MetricNamesFollowThePrometheusGrammar) {
  EXPECT_TRUE(IsValidMetricName("star_worker_shards_processed_total"));
  EXPECT_TRUE(IsValidMetricName("_private"));
  EXPECT_TRUE(IsValidMetricName("job:star_tokens:rate5m"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("2xx_total"));
  EXPECT_FALSE(IsValidMetricName("star-worker"));
  EXPECT_FALSE(IsValidMetricName("star worker"));
  EXPECT_FALSE(IsValidMetricName("star_ratio\n"));
}

TEST(ExpositionFormatTest, LabelNamesAllowNoColonAndNoReservedPrefix) {
  EXPECT_TRUE(IsValidLabelName("bucket"));
  EXPECT_TRUE(IsValidLabelName("_origin2"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1st"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(ExpositionFormatTest, LabelValuesEscapeBackslashQuoteAndNewlineOnly) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue(R"(C:\dir)"), R"(C:\\dir)");
  EXPECT_EQ(EscapeLabelValue(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(EscapeLabelValue("two\nlines"), R"(two\nlines)");
  // Tabs, braces and UTF-8 pass through untouched.
  EXPECT_EQ(EscapeLabelValue("a\tb{c}=\xc3\xa9"), "a\tb{c}=\xc3\xa9");
}

TEST(ExpositionFormatTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(EscapeHelp(R"(a "quoted" \ help)"), R"(a "quoted" \\ help)");
  EXPECT_EQ(EscapeHelp("line one\nline two"), R"(line one\nline two)");
}

TEST(ExpositionFormatTest, ValuesAreShortestRoundTripTextAndSpecialValuesAreNamed) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(3), "3");
  EXPECT_EQ(FormatSampleValue(-2.5), "-2.5");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1e21), "1e+21");
  EXPECT_EQ(FormatSampleValue(123456789012.0), "123456789012");
  EXPECT_EQ(std::stod(FormatSampleValue(1.0 / 3)), 1.0 / 3);
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
}

TEST(ExpositionFormatTest, BucketBoundsArePositionalBetweenTenToTheMinusFourAndAMillion) {
  // As Go's strconv.FormatFloat(v, 'g', -1, 64), which the Go client library uses for "le".
  EXPECT_EQ(FormatBucketBound(0.0005), "0.0005");
  EXPECT_EQ(FormatBucketBound(0.0001), "0.0001");
  EXPECT_EQ(FormatBucketBound(0.00025), "0.00025");
  EXPECT_EQ(FormatBucketBound(0.001), "0.001");
  EXPECT_EQ(FormatBucketBound(0.0025), "0.0025");
  EXPECT_EQ(FormatBucketBound(0.1), "0.1");
  EXPECT_EQ(FormatBucketBound(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatBucketBound(0), "0");
  EXPECT_EQ(FormatBucketBound(1), "1");
  EXPECT_EQ(FormatBucketBound(2.5), "2.5");
  EXPECT_EQ(FormatBucketBound(30), "30");
  EXPECT_EQ(FormatBucketBound(60), "60");
  EXPECT_EQ(FormatBucketBound(120), "120");
  EXPECT_EQ(FormatBucketBound(3600), "3600");
  EXPECT_EQ(FormatBucketBound(100000), "100000");
  EXPECT_EQ(FormatBucketBound(-0.5), "-0.5");
  // Outside that range the exponent form, as short as before.
  EXPECT_EQ(FormatBucketBound(0.00001), "1e-05");
  EXPECT_EQ(FormatBucketBound(0.000025), "2.5e-05");
  EXPECT_EQ(FormatBucketBound(1e6), "1e+06");
  EXPECT_EQ(FormatBucketBound(1.5e7), "1.5e+07");
  EXPECT_EQ(FormatBucketBound(std::numeric_limits<double>::infinity()), "+Inf");
  // Every form reads back as the same double.
  for (double v : {0.0005, 1.0 / 3, 0.1 + 0.2, 123.456, 1e-7, 9.999e5, 4e21}) {
    EXPECT_EQ(std::stod(FormatBucketBound(v)), v) << FormatBucketBound(v);
  }
}

}  // namespace
}  // namespace star::metrics
