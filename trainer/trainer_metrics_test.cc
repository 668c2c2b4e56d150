#include "trainer/trainer_metrics.h"

#include "gtest/gtest.h"

namespace star {
namespace {

std::string Sample(const std::string& page, const std::string& series) {
  size_t at = page.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  size_t start = at + series.size() + 2;
  return page.substr(start, page.find('\n', start) - start);
}

TEST(TrainerMetricsTest, StepsSetLossAndThroughputAndFillTheHistograms) {
  metrics::MetricRegistry registry;
  TrainerMetrics metrics(&registry);
  EXPECT_EQ(Sample(registry.Render(), "star_trainer_world_size"), "0");
  metrics.RecordJoinRequest("waited");
  metrics.RecordJoinRequest("assigned");
  metrics.RoundStarted(1, 2);
  metrics.RecordStep({.step = 1, .loss = 2.5, .seconds = 0.5, .tokens = 100, .allreduce_seconds = 0.125});
  metrics.RecordStep({.step = 2, .loss = 2.0, .seconds = 0.25, .tokens = 100, .allreduce_seconds = 0.0625});
  std::string page = registry.Render();
  EXPECT_EQ(Sample(page, "star_trainer_in_round"), "1");
  EXPECT_EQ(Sample(page, "star_trainer_rank"), "1");
  EXPECT_EQ(Sample(page, "star_trainer_world_size"), "2");
  EXPECT_EQ(Sample(page, "star_trainer_loss"), "2");
  EXPECT_EQ(Sample(page, "star_trainer_tokens_per_second"), "400");
  EXPECT_EQ(Sample(page, "star_trainer_steps_total"), "2");
  EXPECT_EQ(Sample(page, "star_trainer_tokens_total"), "200");
  EXPECT_EQ(Sample(page, "star_trainer_step_duration_seconds_sum"), "0.75");
  EXPECT_EQ(Sample(page, "star_trainer_allreduce_duration_seconds_sum"), "0.1875");
  EXPECT_EQ(Sample(page, "star_trainer_allreduce_duration_seconds_count"), "2");
  // The smallest all-reduce bucket, 0.5 ms, reads "0.0005" (not "5e-04").
  EXPECT_EQ(Sample(page, "star_trainer_allreduce_duration_seconds_bucket{le=\"0.0005\"}"), "0");
  EXPECT_EQ(Sample(page, "star_trainer_allreduce_duration_seconds_bucket{le=\"0.128\"}"), "2");
  EXPECT_EQ(Sample(page, "star_trainer_join_requests_total{outcome=\"assigned\"}"), "1");
  metrics.RoundEnded(false, absl::Seconds(3));
  page = registry.Render();
  EXPECT_EQ(Sample(page, "star_trainer_in_round"), "0");
  EXPECT_EQ(Sample(page, "star_trainer_round_duration_seconds_count{outcome=\"failed\"}"), "1");
  EXPECT_EQ(Sample(page, "star_trainer_round_duration_seconds_count{outcome=\"succeeded\"}"), "0");
  EXPECT_EQ(Sample(page, "star_trainer_round_duration_seconds_bucket{outcome=\"failed\",le=\"5\"}"), "1");
  EXPECT_EQ(Sample(page, "star_trainer_round_duration_seconds_bucket{outcome=\"failed\",le=\"2\"}"), "0");
}

}  // namespace
}  // namespace star
