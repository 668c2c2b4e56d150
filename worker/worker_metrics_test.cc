#include "worker/worker_metrics.h"

#include "gtest/gtest.h"

namespace star {
namespace {

// The value of `series` on `page`; "" when it is not there.
std::string Sample(const std::string& page, const std::string& series) {
  size_t at = page.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  size_t start = at + series.size() + 2;
  return page.substr(start, page.find('\n', start) - start);
}

TEST(WorkerMetricsTest, EveryKindStartsAtZeroSoRatiosHaveADenominator) {
  metrics::MetricRegistry registry;
  WorkerMetrics metrics(&registry);
  std::string page = registry.Render();
  EXPECT_EQ(Sample(page, "star_worker_registered"), "0");
  EXPECT_EQ(Sample(page, "star_worker_generated_tokens_total{kind=\"generate\"}"), "0");
  EXPECT_EQ(Sample(page, "star_worker_samples_verified_total{kind=\"evaluate\",verdict=\"accepted\"}"), "0");
  EXPECT_EQ(Sample(page, "star_worker_shards_processed_total{kind=\"generate\",outcome=\"failed\"}"), "0");
  EXPECT_EQ(Sample(page, "star_worker_lease_requests_total{outcome=\"empty\"}"), "0");
}

TEST(WorkerMetricsTest, ShardLifeIsCountedByKindAndOutcome) {
  metrics::MetricRegistry registry;
  WorkerMetrics metrics(&registry);
  metrics.SetRegistered(true);
  metrics.RecordLeaseRequest("leased");
  metrics.RecordLeaseRequest("empty");
  metrics.RecordLeaseRequest("empty");
  metrics.RecordCheckpointLoad(absl::Milliseconds(300));
  metrics.RecordGeneration(star::v1::SHARD_KIND_GENERATE, absl::Milliseconds(40), 120);
  metrics.RecordGeneration(star::v1::SHARD_KIND_GENERATE, absl::Milliseconds(20), 30);
  metrics.RecordShard(star::v1::SHARD_KIND_GENERATE, "submitted", absl::Seconds(1));
  metrics.RecordVerdicts(star::v1::SHARD_KIND_GENERATE, 3, 7);
  metrics.RecordShard(star::v1::SHARD_KIND_EVALUATE, "failed", absl::Seconds(2));
  std::string page = registry.Render();
  EXPECT_EQ(Sample(page, "star_worker_registered"), "1");
  EXPECT_EQ(Sample(page, "star_worker_lease_requests_total{outcome=\"empty\"}"), "2");
  EXPECT_EQ(Sample(page, "star_worker_generated_tokens_total{kind=\"generate\"}"), "150");
  EXPECT_EQ(Sample(page, "star_worker_generation_duration_seconds_count{kind=\"generate\"}"), "2");
  EXPECT_EQ(Sample(page, "star_worker_generation_duration_seconds_sum{kind=\"generate\"}"), "0.06");
  EXPECT_EQ(Sample(page, "star_worker_shards_processed_total{kind=\"generate\",outcome=\"submitted\"}"), "1");
  EXPECT_EQ(Sample(page, "star_worker_shards_processed_total{kind=\"evaluate\",outcome=\"failed\"}"), "1");
  // A failed shard has no duration: it never reached the coordinator.
  EXPECT_EQ(Sample(page, "star_worker_shard_duration_seconds_count{kind=\"evaluate\"}"), "0");
  EXPECT_EQ(Sample(page, "star_worker_shard_duration_seconds_count{kind=\"generate\"}"), "1");
  EXPECT_EQ(Sample(page, "star_worker_samples_verified_total{kind=\"generate\",verdict=\"accepted\"}"), "3");
  EXPECT_EQ(Sample(page, "star_worker_samples_verified_total{kind=\"generate\",verdict=\"rejected\"}"), "7");
  EXPECT_EQ(Sample(page, "star_worker_checkpoint_load_duration_seconds_count"), "1");
}

}  // namespace
}  // namespace star
