#include "coordinator/kept_set.h"

#include "gtest/gtest.h"

namespace star {
namespace {

AcceptedRationale Accepted(uint64_t question, const std::string& completion, bool rationalized = false) {
  AcceptedRationale r;
  r.question_id = question;
  r.prompt = "the generation prompt, exemplars included";
  r.completion = completion;
  r.rationalized = rationalized;
  return r;
}

const std::vector<PoolQuestion> kPool = {{1, "easy", "Q: one\nA:"},
                                         {2, "easy", "Q: two\nA:"},
                                         {3, "hard", "Q: three\nA:"},
                                         {4, "hard", "Q: four\nA:"}};

TEST(KeptSetTest, DeduplicatesCapsAndTrainsOnTheTrainingPrompt) {
  star::v1::FilterSpec filter;
  filter.set_deduplicate(true);
  filter.set_max_kept_per_question(2);
  const KeptSet kept = BuildKeptSet({Accepted(1, " a"), Accepted(1, " a"), Accepted(1, " b"),
                                     Accepted(1, " c"), Accepted(3, " d", true),
                                     Accepted(99, " not in the pool")},
                                    kPool, filter);
  ASSERT_EQ(kept.examples.size(), 3u);  // " a" once, " b", then the cap; " d"
  EXPECT_EQ(kept.examples[0].completion(), " a");
  EXPECT_EQ(kept.examples[1].completion(), " b");
  EXPECT_EQ(kept.examples[2].completion(), " d");
  // Trained as the continuation of the question's own prompt, not of what the worker was asked.
  EXPECT_EQ(kept.examples[2].prompt(), "Q: three\nA:");
  EXPECT_EQ(kept.log[2]["prompt"], "Q: three\nA:");
  EXPECT_EQ(kept.log[2]["rationalized"], true);
  EXPECT_EQ(kept.accepted_direct, 2u);
  EXPECT_EQ(kept.accepted_rationalized, 1u);
  EXPECT_EQ(kept.rejected, 2u);  // questions 2 and 4
  ASSERT_EQ(kept.buckets.size(), 2u);
  EXPECT_EQ(kept.buckets[0].bucket(), "easy");
  EXPECT_EQ(kept.buckets[0].questions(), 2u);
  EXPECT_EQ(kept.buckets[0].direct(), 1u);
  EXPECT_EQ(kept.buckets[1].rationalized(), 1u);
}

TEST(KeptSetTest, WithoutTheFilterEverythingIsKeptAndRareBucketsAreRepeated) {
  star::v1::FilterSpec filter;
  const KeptSet all = BuildKeptSet({Accepted(1, " a"), Accepted(1, " a"), Accepted(2, " b"),
                                    Accepted(3, " c")},
                                   kPool, filter);
  EXPECT_EQ(all.examples.size(), 4u);
  filter.set_bucket_balance_max_repeat(4);
  const KeptSet balanced = BuildKeptSet({Accepted(1, " a"), Accepted(2, " b"), Accepted(2, " b2"),
                                         Accepted(3, " c")},
                                        kPool, filter);
  // Three "easy" rationales and one "hard": the hard one is repeated towards three.
  ASSERT_EQ(balanced.examples.size(), 6u);
  EXPECT_EQ(balanced.log.size(), 4u);  // the log holds each kept rationale once
  for (size_t i = 4; i < 6; ++i) EXPECT_EQ(balanced.examples[i].completion(), " c");
  for (size_t i = 0; i < balanced.examples.size(); ++i) EXPECT_EQ(balanced.examples[i].example_id(), i);
}

}  // namespace
}  // namespace star
