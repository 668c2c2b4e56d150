#ifndef STAR_METRICS_METRIC_REGISTRY_H_
#define STAR_METRICS_METRIC_REGISTRY_H_

// A small typed metrics registry rendered in the Prometheus text exposition format 0.0.4.
//
//   MetricRegistry registry;
//   Family<Counter>& shards = registry.AddCounter(
//       "star_worker_shards_processed_total", "Shards processed.", {"kind", "outcome"});
//   shards.WithLabels({"generate", "submitted"}).Increment();
//   Family<Histogram>& step = registry.AddHistogram(
//       "star_trainer_step_duration_seconds", "Optimizer step time.", {0.01, 0.1, 1});
//   step.Get().Observe(0.03);
//   std::string page = registry.Render();
//
// Families hold one series per label set. Label values must come from a bounded set (a phase,
// an operand length, an iteration number), never from requests or ids that grow without end:
// each family stops at `max_series` series, and a label set beyond that is counted into a
// series that is never exported (a warning names the family once).
//
// Definitions are programming constants: an invalid metric or label name, a counter whose
// name does not end in "_total", a histogram with a label "le" or unsorted buckets, a name
// registered twice, or label values of the wrong arity abort the process with a message naming
// the metric. Everything else is thread-safe: series may be updated from any thread while the
// registry renders.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace star::metrics {

// The label values of one series, in the order of the family's label names.
using LabelValues = std::vector<std::string>;

// A value that only goes up (and restarts from 0 with the process). Thread-safe.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `amount`; negative and NaN amounts are ignored (a counter never goes down).
  void Increment(double amount = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down. Thread-safe.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets, with their sum and count. Thread-safe.
class Histogram {
 public:
  // `upper_bounds` must be finite and strictly increasing (the registry checks); the +Inf
  // bucket is implicit.
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `value` into the first bucket whose upper bound is >= value. NaN is ignored.
  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;
    // cumulative[i]: observations <= upper_bounds[i]; one more entry for +Inf (== count).
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  // A consistent copy (sum, count and buckets of the same observations).
  Snapshot Read() const;

 private:
  const std::vector<double> upper_bounds_;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_ ABSL_GUARDED_BY(mu_);  // per bucket, not cumulative
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

enum class MetricType { kCounter, kGauge, kHistogram };

// What every family has; rendering is per type.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names, size_t max_series);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends the family (HELP, TYPE and every series) to `out`. A family without series still
  // shows its HELP and TYPE lines, so that scrapers see every name a daemon exports.
  void Render(std::string* out) const;

 protected:
  // Appends the sample lines of every series.
  virtual void RenderSeries(std::string* out) const = 0;
  // `{a="x",b="y"` + `extra` + `}`, or "" without labels and extra.
  std::string LabelText(const LabelValues& values, const std::string& extra = "") const;
  // Aborts unless `values` has one value per label name.
  void CheckArity(const LabelValues& values) const;
  // Logs (once) that the family is full.
  void WarnFull() const;

  const size_t max_series_;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  mutable std::atomic<bool> warned_full_{false};
};

template <typename Metric>
class Family final : public FamilyBase {
 public:
  // Made by MetricRegistry.
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> labels,
         size_t max_series, std::function<std::unique_ptr<Metric>()> make)
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels), max_series),
        make_(std::move(make)),
        overflow_(make_()) {}

  // The series with these label values, made on first use. The reference stays valid until
  // Remove()/Clear() drops the series (families that are cleared are written by one collector
  // only; see MetricRegistry::AddCollector).
  Metric& WithLabels(const LabelValues& values) {
    CheckArity(values);
    absl::MutexLock lock(&mu_);
    auto it = series_.find(values);
    if (it != series_.end()) return *it->second;
    if (series_.size() >= max_series_) {
      WarnFull();
      return *overflow_;
    }
    return *series_.emplace(values, make_()).first->second;
  }
  // The series of a family without labels.
  Metric& Get() { return WithLabels({}); }

  void Remove(const LabelValues& values) {
    absl::MutexLock lock(&mu_);
    series_.erase(values);
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    series_.clear();
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return series_.size();
  }

 protected:
  void RenderSeries(std::string* out) const override;

 private:
  const std::function<std::unique_ptr<Metric>()> make_;
  mutable absl::Mutex mu_;
  // Ordered by label values, so that pages are stable.
  std::map<LabelValues, std::unique_ptr<Metric>> series_ ABSL_GUARDED_BY(mu_);
  // Where label sets beyond max_series_ go; never rendered.
  const std::unique_ptr<Metric> overflow_;
};

template <>
void Family<Counter>::RenderSeries(std::string* out) const;
template <>
void Family<Gauge>::RenderSeries(std::string* out) const;
template <>
void Family<Histogram>::RenderSeries(std::string* out) const;

// Upper bounds start, start*factor, ..., `count` of them (start > 0, factor > 1).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

class MetricRegistry {
 public:
  static constexpr size_t kDefaultMaxSeries = 1000;

  MetricRegistry() = default;
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  // Each Add* registers a family and returns it; it lives as long as the registry. Counter
  // names must end in "_total". Aborts on an invalid definition (see the top of this file).
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {},
                              size_t max_series = kDefaultMaxSeries);
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {},
                          size_t max_series = kDefaultMaxSeries);
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> upper_bounds,
                                  std::vector<std::string> label_names = {},
                                  size_t max_series = kDefaultMaxSeries);

  // `collect` runs at the start of every Render(), before anything is read: it copies state
  // kept elsewhere (queue sizes, job results) into gauges and counters. Collectors run one
  // Render() at a time, in the order they were added. They must not call Render().
  void AddCollector(std::function<void()> collect);

  // Runs the collectors, then renders every family, ordered by name, as a page of the text
  // exposition format 0.0.4 (serve it with kExpositionContentType).
  std::string Render() const;

  // The names of the families registered, ordered.
  std::vector<std::string> Names() const;

 private:
  template <typename Metric>
  Family<Metric>& Add(const std::string& name, const std::string& help, MetricType type,
                      std::vector<std::string> label_names, size_t max_series,
                      std::function<std::unique_ptr<Metric>()> make);

  // Serialises Render() so that collectors never run concurrently.
  mutable absl::Mutex render_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mu_);
};

}  // namespace star::metrics

#endif  // STAR_METRICS_METRIC_REGISTRY_H_
