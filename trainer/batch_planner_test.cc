#include "trainer/batch_planner.h"

#include <algorithm>
#include <map>

#include "gtest/gtest.h"

namespace star {
namespace {

TEST(BatchPlannerTest, BatchesHoldSimilarLengthsAndEveryExampleComesOncePerEpoch) {
  // 64 examples of lengths 0..63 in batches of 8: one plan covers exactly one epoch.
  std::vector<size_t> lengths(64);
  for (size_t i = 0; i < lengths.size(); ++i) lengths[i] = i;
  BatchPlanner planner(lengths, 8, 7);
  std::map<size_t, int> seen;
  std::vector<size_t> firsts;
  for (int b = 0; b < BatchPlanner::kGroupedBatches; ++b) {
    std::vector<size_t> batch = planner.NextBatch();
    ASSERT_EQ(batch.size(), 8u);
    for (size_t i : batch) ++seen[i];
    // Sorted by length within the plan: a batch is 8 consecutive lengths.
    EXPECT_TRUE(std::is_sorted(batch.begin(), batch.end()));
    EXPECT_EQ(batch.back() - batch.front(), 7u);
    firsts.push_back(batch.front());
  }
  EXPECT_EQ(seen.size(), 64u);
  for (const auto& [index, count] : seen) EXPECT_EQ(count, 1) << index;
  // The batches come in shuffled order, not shortest first.
  EXPECT_FALSE(std::is_sorted(firsts.begin(), firsts.end()));
}

TEST(BatchPlannerTest, TheSameSeedPlansTheSameBatches) {
  std::vector<size_t> lengths = {5, 1, 9, 3, 3, 7, 2, 8, 6, 4};
  BatchPlanner a(lengths, 4, 11), b(lengths, 4, 11), c(lengths, 4, 12);
  bool differs = false;
  for (int step = 0; step < 20; ++step) {
    std::vector<size_t> x = a.NextBatch();
    EXPECT_EQ(x, b.NextBatch());
    differs |= x != c.NextBatch();
  }
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace star
