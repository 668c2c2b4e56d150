#include "coordinator/shard_queue.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace star {
namespace {

class ShardQueueTest : public ::testing::Test {
 protected:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }

  static star::v1::Shard MakeShard(const std::string& id) {
    star::v1::Shard shard;
    shard.set_shard_id(id);
    shard.add_questions()->set_question_id(1);
    return shard;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  ShardQueue queue_{[this] { return Now(); }};
  const absl::Duration kLease = absl::Seconds(30);
};

TEST_F(ShardQueueTest, LeasesShardsInOrderAndCountsThem) {
  ASSERT_TRUE(queue_.Add(MakeShard("s1")).ok());
  ASSERT_TRUE(queue_.Add(MakeShard("s2")).ok());
  std::optional<ShardLease> a = queue_.Lease("w1", kLease, absl::ZeroDuration());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->shard->shard_id(), "s1");
  EXPECT_EQ(a->expires, Now() + kLease);
  ShardCounts counts = queue_.Counts();
  EXPECT_EQ(counts.pending, 1);
  EXPECT_EQ(counts.leased, 1);
  EXPECT_EQ(counts.done, 0);
}

TEST_F(ShardQueueTest, DuplicateShardIdIsRejected) {
  ASSERT_TRUE(queue_.Add(MakeShard("s1")).ok());
  absl::Status s = queue_.Add(MakeShard("s1"));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("'s1'"), std::string::npos);
}

TEST_F(ShardQueueTest, EmptyQueueLeaseReturnsNothingAfterWait) {
  absl::Time start = absl::Now();
  EXPECT_FALSE(queue_.Lease("w1", kLease, absl::Milliseconds(50)).has_value());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST_F(ShardQueueTest, LongPollReturnsAsSoonAsAShardIsAdded) {
  std::optional<ShardLease> got;
  std::thread waiter([&] { got = queue_.Lease("w1", kLease, absl::Seconds(20)); });
  ASSERT_TRUE(queue_.Add(MakeShard("late")).ok());
  waiter.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->shard->shard_id(), "late");
}

TEST_F(ShardQueueTest, CloseWakesWaiters) {
  std::optional<ShardLease> got = ShardLease{};
  std::thread waiter([&] { got = queue_.Lease("w1", kLease, absl::Seconds(20)); });
  queue_.Close();
  waiter.join();
  EXPECT_FALSE(got.has_value());
}

TEST_F(ShardQueueTest, ExpiredLeaseReturnsShardToQueue) {
  ASSERT_TRUE(queue_.Add(MakeShard("s1")).ok());
  std::optional<ShardLease> first = queue_.Lease("w1", kLease, absl::ZeroDuration());
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(queue_.Lease("w2", kLease, absl::ZeroDuration()).has_value());
  Advance(kLease);
  std::optional<ShardLease> second = queue_.Lease("w2", kLease, absl::ZeroDuration());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->shard->shard_id(), "s1");
  EXPECT_NE(second->lease_id, first->lease_id);
  EXPECT_EQ(queue_.Counts().expired_total, 1);

  // The first worker's late submission is refused; the new holder's is accepted.
  absl::StatusOr<ShardQueue::Completion> late = queue_.Complete("w1", first->lease_id, "s1");
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(late.status().message().find("expired"), std::string::npos);
  absl::StatusOr<ShardQueue::Completion> done = queue_.Complete("w2", second->lease_id, "s1");
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->duplicate);
  EXPECT_TRUE(queue_.AllDone());
}

TEST_F(ShardQueueTest, RenewedLeaseDoesNotExpire) {
  ASSERT_TRUE(queue_.Add(MakeShard("s1")).ok());
  std::optional<ShardLease> lease = queue_.Lease("w1", kLease, absl::ZeroDuration());
  ASSERT_TRUE(lease.has_value());
  Advance(absl::Seconds(20));
  absl::StatusOr<absl::Time> renewed = queue_.Renew("w1", lease->lease_id, kLease);
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(*renewed, Now() + kLease);
  Advance(absl::Seconds(20));
  EXPECT_EQ(queue_.Counts().leased, 1);
  EXPECT_EQ(queue_.Counts().expired_total, 0);
}

TEST_F(ShardQueueTest, RenewRejectsUnknownForeignAndExpiredLeases) {
  ASSERT_TRUE(queue_.Add(MakeShard("s1")).ok());
  std::optional<ShardLease> lease = queue_.Lease("w1", kLease, absl::ZeroDuration());
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(queue_.Renew("w1", "l-bogus", kLease).status().code(), absl::StatusCode::kNotFound);
  absl::Status foreign = queue_.Renew("w2", lease->lease_id, kLease).status();
  EXPECT_EQ(foreign.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(foreign.message().find("another worker"), std::string::npos);
  Advance(kLease + absl::Seconds(1));
  EXPECT_EQ(queue_.Renew("w1", lease->lease_id, kLease).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ShardQueueTest, SecondCompletionIsADuplicate) {
  ASSERT_TRUE(queue_.Add(MakeShard("s1")).ok());
  std::optional<ShardLease> lease = queue_.Lease("w1", kLease, absl::ZeroDuration());
  ASSERT_TRUE(lease.has_value());
  ASSERT_FALSE(queue_.Complete("w1", lease->lease_id, "s1")->duplicate);
  absl::StatusOr<ShardQueue::Completion> again = queue_.Complete("w1", lease->lease_id, "s1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(queue_.Counts().done, 1);
}

TEST_F(ShardQueueTest, CompleteRejectsUnknownShardAndMismatchedLease) {
  ASSERT_TRUE(queue_.Add(MakeShard("s1")).ok());
  ASSERT_TRUE(queue_.Add(MakeShard("s2")).ok());
  std::optional<ShardLease> lease = queue_.Lease("w1", kLease, absl::ZeroDuration());
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(queue_.Complete("w1", lease->lease_id, "nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(queue_.Complete("w1", "l-unknown", "s1").status().code(),
            absl::StatusCode::kNotFound);
  absl::Status wrong = queue_.Complete("w1", lease->lease_id, "s2").status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(wrong.message().find("not shard_id 's2'"), std::string::npos);
  EXPECT_EQ(queue_.Counts().done, 0);
}

TEST_F(ShardQueueTest, AShardWhoseEveryLeaseExpiresIsGivenUpAfterMaxLeases) {
  ShardQueue queue([this] { return Now(); }, /*max_leases=*/3);
  ASSERT_TRUE(queue.Add(MakeShard("s1")).ok());
  for (int lease = 1; lease <= 3; ++lease) {
    EXPECT_EQ(queue.FailedShard(), std::nullopt) << lease;
    ASSERT_TRUE(queue.Lease("w1", kLease, absl::ZeroDuration()).has_value()) << lease;
    Advance(kLease + absl::Seconds(1));
    queue.ExpireLeases();
  }
  EXPECT_EQ(queue.FailedShard(), std::optional<std::string>("s1"));
  EXPECT_FALSE(queue.Lease("w1", kLease, absl::ZeroDuration()).has_value());
  EXPECT_FALSE(queue.AllDone());
  EXPECT_EQ(queue.Counts().failed, 1);
}

TEST_F(ShardQueueTest, ShardsAddedAsDoneAreNotLeasedAndAcknowledgeLateSubmissionsAsDuplicates) {
  ASSERT_TRUE(queue_.Add(MakeShard("s1"), /*done=*/true).ok());
  ASSERT_TRUE(queue_.Add(MakeShard("s2")).ok());
  std::optional<ShardLease> lease = queue_.Lease("w1", kLease, absl::ZeroDuration());
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->shard->shard_id(), "s2");
  EXPECT_FALSE(queue_.Lease("w1", kLease, absl::ZeroDuration()).has_value());
  // CheckCompletion changes nothing; MarkDone does.
  ASSERT_FALSE(queue_.CheckCompletion("w1", lease->lease_id, "s2")->duplicate);
  EXPECT_FALSE(queue_.AllDone());
  queue_.MarkDone("s2");
  EXPECT_TRUE(queue_.AllDone());
  EXPECT_TRUE(queue_.CheckCompletion("w1", lease->lease_id, "s2")->duplicate);
}

// LeaseAsync: waits are queue entries answered in arrival order by the dispatcher thread.
TEST_F(ShardQueueTest, AsyncWaitersAreServedInOrderTimedOutAndAnsweredOnClose) {
  struct Answer {
    absl::Notification done;
    std::optional<ShardLease> lease;
  };
  Answer first, second, timed_out, closed;
  const auto answer_into = [](Answer* a) {
    return [a](std::optional<ShardLease> lease) {
      a->lease = std::move(lease);
      a->done.Notify();
    };
  };
  ASSERT_TRUE(queue_.LeaseAsync("w1", kLease, absl::Seconds(20), answer_into(&first)).ok());
  ASSERT_TRUE(queue_.LeaseAsync("w2", kLease, absl::Seconds(20), answer_into(&second)).ok());
  EXPECT_EQ(queue_.LeaseWaiters(), 2u);
  ASSERT_TRUE(queue_.Add(MakeShard("a")).ok());
  ASSERT_TRUE(first.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(first.lease.has_value());
  EXPECT_EQ(first.lease->shard->shard_id(), "a");
  EXPECT_FALSE(second.done.HasBeenNotified());
  ASSERT_TRUE(queue_.Add(MakeShard("b")).ok());
  ASSERT_TRUE(second.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(second.lease.has_value());
  EXPECT_EQ(second.lease->shard->shard_id(), "b");

  const absl::Time start = absl::Now();
  ASSERT_TRUE(queue_.LeaseAsync("w3", kLease, absl::Milliseconds(50), answer_into(&timed_out)).ok());
  ASSERT_TRUE(timed_out.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(timed_out.lease.has_value());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));

  ASSERT_TRUE(queue_.LeaseAsync("w4", kLease, absl::Seconds(20), answer_into(&closed)).ok());
  queue_.Close();
  ASSERT_TRUE(closed.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(closed.lease.has_value());
  EXPECT_EQ(queue_.LeaseWaiters(), 0u);
}

}  // namespace
}  // namespace star
