#include "coordinator/bucket_balance.h"

#include "gtest/gtest.h"

namespace star {
namespace {

TEST(BucketBalanceTest, RareBucketsAreRepeatedTowardsTheLargestUpToTheCap) {
  // 8 of bucket "1", 4 of "2", 1 of "4".
  std::vector<std::string> buckets(8, "1");
  buckets.insert(buckets.end(), 4, "2");
  buckets.push_back("4");
  std::vector<uint32_t> copies = BalancedCopies(buckets, 5);
  ASSERT_EQ(copies.size(), buckets.size());
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(copies[i], 1u);
  for (size_t i = 8; i < 12; ++i) EXPECT_EQ(copies[i], 2u);
  EXPECT_EQ(copies[12], 5u);  // 8 / 1 = 8, capped at 5
}

TEST(BucketBalanceTest, OffOrBalancedMeansOneCopyEach) {
  const std::vector<std::string> skewed = {"1", "1", "1", "2"};
  EXPECT_EQ(BalancedCopies(skewed, 0), (std::vector<uint32_t>{1, 1, 1, 1}));
  EXPECT_EQ(BalancedCopies(skewed, 1), (std::vector<uint32_t>{1, 1, 1, 1}));
  EXPECT_EQ(BalancedCopies({"1", "2", "2", "1"}, 8), (std::vector<uint32_t>{1, 1, 1, 1}));
  EXPECT_TRUE(BalancedCopies({}, 8).empty());
}

}  // namespace
}  // namespace star
