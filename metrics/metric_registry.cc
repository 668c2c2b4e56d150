#include "metrics/metric_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "log/log.h"
#include "metrics/exposition_format.h"

namespace star::metrics {
namespace {

// Definitions are constants of the program: a bad one is a bug, found the first time the
// daemon starts (and by its tests).
[[noreturn]] void DefinitionError(const std::string& metric, const std::string& problem) {
  STAR_LOG(ERROR) << "metric " << metric << ": " << problem;
  std::abort();
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

void Counter::Increment(double amount) {
  if (!(amount > 0)) return;  // also drops NaN
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  size_t bucket = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) -
                  upper_bounds_.begin();
  absl::MutexLock lock(&mu_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.upper_bounds = upper_bounds_;
  absl::MutexLock lock(&mu_);
  uint64_t running = 0;
  for (uint64_t c : counts_) {
    running += c;
    snapshot.cumulative.push_back(running);
  }
  snapshot.sum = sum_;
  snapshot.count = count_;
  return snapshot;
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names, size_t max_series)
    : max_series_(max_series),
      name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

void FamilyBase::Render(std::string* out) const {
  absl::StrAppend(out, "# HELP ", name_, " ", EscapeHelp(help_), "\n");
  absl::StrAppend(out, "# TYPE ", name_, " ", TypeName(type_), "\n");
  RenderSeries(out);
}

std::string FamilyBase::LabelText(const LabelValues& values, const std::string& extra) const {
  if (values.empty() && extra.empty()) return "";
  std::string text = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StrAppend(&text, i ? "," : "", label_names_[i], "=\"", EscapeLabelValue(values[i]),
                    "\"");
  }
  if (!extra.empty()) absl::StrAppend(&text, values.empty() ? "" : ",", extra);
  text += "}";
  return text;
}

void FamilyBase::CheckArity(const LabelValues& values) const {
  if (values.size() != label_names_.size()) {
    DefinitionError(name_, absl::StrCat("given ", values.size(), " label values for the ",
                                        label_names_.size(), " labels (",
                                        absl::StrJoin(label_names_, ", "), ")"));
  }
}

void FamilyBase::WarnFull() const {
  if (!warned_full_.exchange(true)) {
    STAR_LOG(WARNING) << "metric " << name_ << " has reached its " << max_series_
                      << " series; further label sets are not exported";
  }
}

template <>
void Family<Counter>::RenderSeries(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, counter] : series_) {
    absl::StrAppend(out, name(), LabelText(values), " ", FormatSampleValue(counter->Value()), "\n");
  }
}

template <>
void Family<Gauge>::RenderSeries(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, gauge] : series_) {
    absl::StrAppend(out, name(), LabelText(values), " ", FormatSampleValue(gauge->Value()), "\n");
  }
}

template <>
void Family<Histogram>::RenderSeries(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, histogram] : series_) {
    Histogram::Snapshot s = histogram->Read();
    for (size_t i = 0; i <= s.upper_bounds.size(); ++i) {
      std::string le = i < s.upper_bounds.size() ? FormatBucketBound(s.upper_bounds[i]) : "+Inf";
      absl::StrAppend(out, name(), "_bucket", LabelText(values, absl::StrCat("le=\"", le, "\"")),
                      " ", s.cumulative[i], "\n");
    }
    absl::StrAppend(out, name(), "_sum", LabelText(values), " ", FormatSampleValue(s.sum), "\n");
    absl::StrAppend(out, name(), "_count", LabelText(values), " ", s.count, "\n");
  }
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    DefinitionError("ExponentialBuckets",
                    absl::StrCat("start ", start, ", factor ", factor, ", count ", count,
                                 ": need start > 0, factor > 1, count >= 1"));
  }
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) bounds.push_back(bound);
  return bounds;
}

template <typename Metric>
Family<Metric>& MetricRegistry::Add(const std::string& name, const std::string& help,
                                    MetricType type, std::vector<std::string> label_names,
                                    size_t max_series,
                                    std::function<std::unique_ptr<Metric>()> make) {
  if (!IsValidMetricName(name)) DefinitionError(name, "is not a valid metric name");
  if (help.empty()) DefinitionError(name, "has no help text");
  if (type == MetricType::kCounter && !name.ends_with("_total")) {
    DefinitionError(name, "is a counter; counter names end in \"_total\"");
  }
  if (type != MetricType::kCounter && name.ends_with("_total")) {
    DefinitionError(name, "is not a counter; only counter names end in \"_total\"");
  }
  if (max_series < 1) DefinitionError(name, "max_series must be at least 1");
  std::set<std::string> seen;
  for (const std::string& label : label_names) {
    if (!IsValidLabelName(label)) DefinitionError(name, "label '" + label + "' is not valid");
    if (type == MetricType::kHistogram && label == "le") {
      DefinitionError(name, "a histogram cannot have a label 'le'");
    }
    if (!seen.insert(label).second) DefinitionError(name, "label '" + label + "' appears twice");
  }
  auto family = std::make_unique<Family<Metric>>(name, help, type, std::move(label_names),
                                                 max_series, std::move(make));
  Family<Metric>& result = *family;
  absl::MutexLock lock(&mu_);
  if (!families_.emplace(name, std::move(family)).second) {
    DefinitionError(name, "is registered twice");
  }
  return result;
}

Family<Counter>& MetricRegistry::AddCounter(const std::string& name, const std::string& help,
                                            std::vector<std::string> label_names,
                                            size_t max_series) {
  return Add<Counter>(name, help, MetricType::kCounter, std::move(label_names), max_series,
                      [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& MetricRegistry::AddGauge(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names,
                                        size_t max_series) {
  return Add<Gauge>(name, help, MetricType::kGauge, std::move(label_names), max_series,
                    [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& MetricRegistry::AddHistogram(const std::string& name, const std::string& help,
                                                std::vector<double> upper_bounds,
                                                std::vector<std::string> label_names,
                                                size_t max_series) {
  if (upper_bounds.empty()) DefinitionError(name, "a histogram needs at least one bucket");
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i])) {
      DefinitionError(name, "bucket bounds must be finite (+Inf is implicit)");
    }
    if (i > 0 && !(upper_bounds[i] > upper_bounds[i - 1])) {
      DefinitionError(name, "bucket bounds must increase strictly");
    }
  }
  return Add<Histogram>(name, help, MetricType::kHistogram, std::move(label_names), max_series,
                        [upper_bounds] { return std::make_unique<Histogram>(upper_bounds); });
}

void MetricRegistry::AddCollector(std::function<void()> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

std::string MetricRegistry::Render() const {
  absl::MutexLock render_lock(&render_mu_);
  std::vector<std::function<void()>> collectors;
  {
    absl::MutexLock lock(&mu_);
    collectors = collectors_;
  }
  // Outside mu_: a collector may touch any family.
  for (const auto& collect : collectors) collect();
  std::string page;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) family->Render(&page);
  return page;
}

std::vector<std::string> MetricRegistry::Names() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, family] : families_) names.push_back(name);
  return names;
}

}  // namespace star::metrics
