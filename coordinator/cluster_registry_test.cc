#include "coordinator/cluster_registry.h"

#include "gtest/gtest.h"

namespace star {
namespace {

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST(ClusterRegistryTest, RegisteredWorkersGetDistinctIdsAndAppearInSnapshot) {
  FakeClock clock;
  ClusterRegistry registry([&] { return clock.Now(); });
  std::string a = registry.RegisterWorker("host-a");
  std::string b = registry.RegisterWorker("host-b");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.substr(0, 2), "w-");
  EXPECT_EQ(a.size(), 18u);
  star::v1::ClusterStatus status = registry.Snapshot();
  ASSERT_EQ(status.workers_size(), 2);
  EXPECT_EQ(status.workers(0).last_seen_unix_ms(), absl::ToUnixMillis(clock.Now()));
}

TEST(ClusterRegistryTest, TouchUnknownWorkerIsNotFound) {
  ClusterRegistry registry;
  absl::Status s = registry.TouchWorker("w-nope");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("w-nope"), std::string::npos);
}

TEST(ClusterRegistryTest, SnapshotLeavesOutMembersNotSeenWithinMaxAge) {
  FakeClock clock;
  ClusterRegistry registry([&] { return clock.Now(); });
  std::string old_worker = registry.RegisterWorker("old");
  registry.TouchTrainer("t-old", "old", false);
  clock.Advance(absl::Seconds(60));
  std::string fresh_worker = registry.RegisterWorker("fresh");
  registry.TouchTrainer("t-fresh", "fresh", true);
  star::v1::ClusterStatus recent = registry.Snapshot(absl::Seconds(30));
  ASSERT_EQ(recent.workers_size(), 1);
  EXPECT_EQ(recent.workers(0).worker_id(), fresh_worker);
  ASSERT_EQ(recent.trainers_size(), 1);
  EXPECT_EQ(recent.trainers(0).trainer_id(), "t-fresh");
  EXPECT_TRUE(recent.trainers(0).has_cuda());
  ASSERT_TRUE(registry.TouchWorker(old_worker).ok());
  EXPECT_EQ(registry.Snapshot(absl::Seconds(30)).workers_size(), 2);
}

}  // namespace
}  // namespace star
