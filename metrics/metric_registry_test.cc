#include "metrics/metric_registry.h"

#include <cmath>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "metrics/exposition_format.h"

namespace star::metrics {
namespace {

TEST(MetricRegistryTest, CounterRendersHelpTypeAndOneLinePerLabelSet) {
  MetricRegistry registry;
  Family<Counter>& shards =
      registry.AddCounter("star_shards_total", "Shards done.", {"kind", "outcome"});
  shards.WithLabels({"generate", "ok"}).Increment();
  shards.WithLabels({"generate", "ok"}).Increment(2);
  shards.WithLabels({"evaluate", "failed"}).Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP star_shards_total Shards done.\n"
            "# TYPE star_shards_total counter\n"
            "star_shards_total{kind=\"evaluate\",outcome=\"failed\"} 1\n"
            "star_shards_total{kind=\"generate\",outcome=\"ok\"} 3\n");
}

TEST(MetricRegistryTest, CounterIgnoresNegativeAndNanIncrements) {
  MetricRegistry registry;
  Counter& c = registry.AddCounter("star_c_total", "c").Get();
  c.Increment(5);
  c.Increment(-3);
  c.Increment(std::nan(""));
  EXPECT_EQ(c.Value(), 5);
}

TEST(MetricRegistryTest, GaugeGoesUpAndDownAndRendersWithoutLabels) {
  MetricRegistry registry;
  Gauge& g = registry.AddGauge("star_workers", "Workers connected.").Get();
  g.Set(4);
  g.Add(-1.5);
  EXPECT_EQ(registry.Render(),
            "# HELP star_workers Workers connected.\n"
            "# TYPE star_workers gauge\n"
            "star_workers 2.5\n");
}

TEST(MetricRegistryTest, HistogramRendersCumulativeBucketsInfSumAndCount) {
  MetricRegistry registry;
  Family<Histogram>& h = registry.AddHistogram("star_step_duration_seconds", "Step time.",
                                               {0.1, 0.5, 1}, {"rank"});
  Histogram& rank0 = h.WithLabels({"0"});
  for (double v : {0.05, 0.1, 0.3, 0.7, 2.0}) rank0.Observe(v);
  const std::string sum = FormatSampleValue(0.05 + 0.1 + 0.3 + 0.7 + 2.0);
  EXPECT_EQ(registry.Render(),
            "# HELP star_step_duration_seconds Step time.\n"
            "# TYPE star_step_duration_seconds histogram\n"
            "star_step_duration_seconds_bucket{rank=\"0\",le=\"0.1\"} 2\n"
            "star_step_duration_seconds_bucket{rank=\"0\",le=\"0.5\"} 3\n"
            "star_step_duration_seconds_bucket{rank=\"0\",le=\"1\"} 4\n"
            "star_step_duration_seconds_bucket{rank=\"0\",le=\"+Inf\"} 5\n"
            "star_step_duration_seconds_sum{rank=\"0\"} " + sum + "\n"
            "star_step_duration_seconds_count{rank=\"0\"} 5\n");
}

TEST(MetricRegistryTest, UnlabelledHistogramPutsLeAlone) {
  MetricRegistry registry;
  registry.AddHistogram("star_lease_seconds", "Lease.", {1}).Get().Observe(3);
  std::string page = registry.Render();
  EXPECT_NE(page.find("star_lease_seconds_bucket{le=\"1\"} 0\n"), std::string::npos) << page;
  EXPECT_NE(page.find("star_lease_seconds_bucket{le=\"+Inf\"} 1\n"), std::string::npos) << page;
  EXPECT_NE(page.find("star_lease_seconds_sum 3\n"), std::string::npos) << page;
  EXPECT_NE(page.find("star_lease_seconds_count 1\n"), std::string::npos) << page;
}

TEST(MetricRegistryTest, LabelValuesAndHelpAreEscaped) {
  MetricRegistry registry;
  registry.AddGauge("star_g", "Help with \\ and\nnewline.", {"path"})
      .WithLabels({"C:\\x \"y\"\nz"})
      .Set(1);
  EXPECT_EQ(registry.Render(),
            "# HELP star_g Help with \\\\ and\\nnewline.\n"
            "# TYPE star_g gauge\n"
            "star_g{path=\"C:\\\\x \\\"y\\\"\\nz\"} 1\n");
}

TEST(MetricRegistryTest, FamilyWithoutSeriesStillShowsHelpAndType) {
  MetricRegistry registry;
  registry.AddCounter("star_events_total", "Events.", {"kind"});
  EXPECT_EQ(registry.Render(),
            "# HELP star_events_total Events.\n"
            "# TYPE star_events_total counter\n");
}

TEST(MetricRegistryTest, FamiliesRenderInNameOrder) {
  MetricRegistry registry;
  registry.AddGauge("star_b", "b").Get().Set(1);
  registry.AddGauge("star_a", "a").Get().Set(1);
  std::string page = registry.Render();
  EXPECT_LT(page.find("star_a"), page.find("star_b"));
  EXPECT_EQ(registry.Names(), (std::vector<std::string>{"star_a", "star_b"}));
}

TEST(MetricRegistryTest, SeriesBeyondTheBoundAreNotExported) {
  MetricRegistry registry;
  Family<Gauge>& g = registry.AddGauge("star_bounded", "Bounded.", {"bucket"}, 2);
  g.WithLabels({"1"}).Set(1);
  g.WithLabels({"2"}).Set(2);
  g.WithLabels({"3"}).Set(3);  // over the bound: accepted, never shown
  EXPECT_EQ(g.size(), 2u);
  std::string page = registry.Render();
  EXPECT_EQ(page.find("bucket=\"3\""), std::string::npos) << page;
  EXPECT_NE(page.find("star_bounded{bucket=\"2\"} 2"), std::string::npos) << page;
}

TEST(MetricRegistryTest, ClearAndRemoveDropSeries) {
  MetricRegistry registry;
  Family<Gauge>& g = registry.AddGauge("star_acc", "Acc.", {"iteration"});
  g.WithLabels({"1"}).Set(0.5);
  g.WithLabels({"2"}).Set(0.7);
  g.Remove({"1"});
  EXPECT_EQ(registry.Render().find("iteration=\"1\""), std::string::npos);
  g.Clear();
  EXPECT_EQ(g.size(), 0u);
}

TEST(MetricRegistryTest, CollectorsRunBeforeEveryRender) {
  MetricRegistry registry;
  Gauge& g = registry.AddGauge("star_collected", "Collected.").Get();
  int calls = 0;
  registry.AddCollector([&] { g.Set(++calls * 10); });
  EXPECT_NE(registry.Render().find("star_collected 10\n"), std::string::npos);
  EXPECT_NE(registry.Render().find("star_collected 20\n"), std::string::npos);
}

TEST(MetricRegistryTest, ExponentialBucketsMultiply) {
  EXPECT_EQ(ExponentialBuckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1}));
}

TEST(MetricRegistryTest, ConcurrentUpdatesWhileRenderingLoseNothing) {
  MetricRegistry registry;
  Family<Counter>& c = registry.AddCounter("star_hits_total", "Hits.", {"thread"});
  Family<Histogram>& h = registry.AddHistogram("star_obs_seconds", "Obs.", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        c.WithLabels({std::to_string(t % 2)}).Increment();
        h.Get().Observe(i % 2 ? 0.25 : 1.0);
      }
    });
  }
  std::thread renderer([&] {
    for (int i = 0; i < 50; ++i) registry.Render();
  });
  for (auto& t : threads) t.join();
  renderer.join();
  std::string page = registry.Render();
  EXPECT_NE(page.find("star_hits_total{thread=\"0\"} 20000\n"), std::string::npos) << page;
  EXPECT_NE(page.find("star_hits_total{thread=\"1\"} 20000\n"), std::string::npos) << page;
  EXPECT_NE(page.find("star_obs_seconds_bucket{le=\"0.5\"} 20000\n"), std::string::npos) << page;
  EXPECT_NE(page.find("star_obs_seconds_count 40000\n"), std::string::npos) << page;
}

using MetricRegistryDeathTest = ::testing::Test;

TEST(MetricRegistryDeathTest, InvalidDefinitionsAbortNamingTheMetric) {
  EXPECT_DEATH(MetricRegistry().AddCounter("star_shards", "no suffix"),
               "star_shards: is a counter; counter names end in \"_total\"");
  EXPECT_DEATH(MetricRegistry().AddGauge("star_level_total", "suffix"),
               "star_level_total: is not a counter");
  EXPECT_DEATH(MetricRegistry().AddGauge("star-level", "bad"), "star-level: is not a valid");
  EXPECT_DEATH(MetricRegistry().AddGauge("star_g", "bad label", {"__x"}),
               "label '__x' is not valid");
  EXPECT_DEATH(MetricRegistry().AddHistogram("star_h_seconds", "le", {1}, {"le"}),
               "cannot have a label 'le'");
  EXPECT_DEATH(MetricRegistry().AddHistogram("star_h_seconds", "order", {1, 1}),
               "must increase strictly");
  EXPECT_DEATH(MetricRegistry().AddGauge("star_g", ""), "star_g: has no help text");
  EXPECT_DEATH(
      {
        MetricRegistry r;
        r.AddGauge("star_g", "once");
        r.AddGauge("star_g", "twice");
      },
      "star_g: is registered twice");
  EXPECT_DEATH(
      {
        MetricRegistry r;
        r.AddGauge("star_g", "arity", {"a", "b"}).WithLabels({"x"});
      },
      "star_g: given 1 label values for the 2 labels \\(a, b\\)");
}

}  // namespace
}  // namespace star::metrics
