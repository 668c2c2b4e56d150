#ifndef STAR_METRICS_EXPOSITION_FORMAT_H_
#define STAR_METRICS_EXPOSITION_FORMAT_H_

// The lexical pieces of the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): name checks, escaping and
// number formatting. MetricRegistry::Render() assembles whole pages from them.
//
// Pure functions; thread-safe.

#include <string>
#include <string_view>

namespace star::metrics {

// The Content-Type of a page in this format.
inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved for Prometheus itself).
bool IsValidLabelName(std::string_view name);

// A label value between double quotes: backslash, double quote and line feed are escaped as
// \\, \" and \n. Any other byte (UTF-8 included) is kept as it is.
std::string EscapeLabelValue(std::string_view value);
// A HELP line's text: backslash and line feed are escaped as \\ and \n.
std::string EscapeHelp(std::string_view help);

// A sample value: the shortest decimal text that reads back as the same double ("3", "0.25",
// "1e+21"), or "+Inf", "-Inf", "NaN".
std::string FormatSampleValue(double value);

// A histogram bucket's upper bound as its `le` label value, as the Go client library writes it
// (strconv.FormatFloat(v, 'g', -1, 64)): the shortest digits that read back as the same
// double, in positional notation unless the decimal exponent is below -4 or at least 6
// ("0.0005", "0.25", "120", "100000", "1e+06", "1e-05"); "+Inf", "-Inf", "NaN" as above.
// Label values are compared as text, so one bound must always be spelled the same way.
std::string FormatBucketBound(double value);

}  // namespace star::metrics

#endif  // STAR_METRICS_EXPOSITION_FORMAT_H_
