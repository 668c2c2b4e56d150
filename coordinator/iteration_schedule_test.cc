#include "coordinator/iteration_schedule.h"

#include "gtest/gtest.h"

namespace star {
namespace {

TEST(IterationScheduleTest, StepsGrowByThePercentageAndTheIncrement) {
  star::v1::TrainingSpec t;
  t.set_initial_steps(40);
  t.set_growth_percent(20);
  EXPECT_EQ(StepsForIteration(t, 1), 40u);
  EXPECT_EQ(StepsForIteration(t, 2), 48u);
  EXPECT_EQ(StepsForIteration(t, 3), 58u);  // 57.6, rounded
  t.set_growth_percent(0);
  t.set_step_increment(100);
  EXPECT_EQ(StepsForIteration(t, 4), 340u);
  t.set_initial_steps(0);
  t.set_step_increment(0);
  EXPECT_EQ(StepsForIteration(t, 1), 1u);  // never zero
}

star::v1::IterationResult WithAccuracy(uint32_t correct, uint32_t total) {
  star::v1::IterationResult r;
  star::v1::BucketAccuracy* b = r.add_accuracy();
  b->set_correct(correct);
  b->set_total(total);
  return r;
}

TEST(IterationScheduleTest, ThePlateauRuleStopsAfterPatienceIterationsWithoutGain) {
  PlateauRule rule(/*patience=*/2, /*min_gain=*/0.05);
  EXPECT_FALSE(rule.Stop(WithAccuracy(10, 100)));  // the first iteration sets the bar
  EXPECT_FALSE(rule.Stop(WithAccuracy(30, 100)));  // a gain
  EXPECT_FALSE(rule.Stop(WithAccuracy(33, 100)));  // below min_gain: stale 1
  EXPECT_TRUE(rule.Stop(WithAccuracy(34, 100)));   // stale 2: stop
  PlateauRule reset(2, 0.05);
  reset.Stop(WithAccuracy(10, 100));
  EXPECT_FALSE(reset.Stop(WithAccuracy(11, 100)));  // stale 1
  EXPECT_FALSE(reset.Stop(WithAccuracy(40, 100)));  // a gain starts over
  EXPECT_FALSE(reset.Stop(WithAccuracy(40, 100)));  // stale 1
  PlateauRule never(0, 0.05);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(never.Stop(WithAccuracy(10, 100)));
}

}  // namespace
}  // namespace star
