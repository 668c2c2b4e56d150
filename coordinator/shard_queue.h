#ifndef STAR_COORDINATOR_SHARD_QUEUE_H_
#define STAR_COORDINATOR_SHARD_QUEUE_H_

// The shards of the current pass and their leases.
//
// A shard is pending, leased or done. Lease() hands out the oldest pending shard (long-polling
// until one is available); a lease lasts `lease_timeout` unless renewed; an expired lease
// returns its shard to the queue, where another worker leases it. Complete() is idempotent: a
// shard completes once, and later submissions for it are reported as duplicates.
//
// Thread-safe. Expiry is judged against the injected clock; long-poll waits use real time.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "star/v1/coordinator.pb.h"

namespace star {

struct ShardLease {
  std::string lease_id;
  // Shared with the queue, never changed: a lease costs no copy of the shard.
  std::shared_ptr<const star::v1::Shard> shard;
  absl::Time expires;
};

struct ShardCounts {
  int64_t pending = 0;
  int64_t leased = 0;
  int64_t done = 0;
  // Shards whose every lease ran out, max_leases times: given up.
  int64_t failed = 0;
  // Leases that ran out and sent their shard back to the queue, since construction.
  int64_t expired_total = 0;
};

class ShardQueue {
 public:
  // A shard whose lease runs out `max_leases` times (every worker that took it failed or died)
  // is given up: it no longer returns to the queue and FailedShard() names it.
  explicit ShardQueue(std::function<absl::Time()> now = absl::Now, int max_leases = 5);
  // Answers every waiting LeaseAsync() with nullopt and stops the dispatcher thread.
  ~ShardQueue();

  ShardQueue(const ShardQueue&) = delete;
  ShardQueue& operator=(const ShardQueue&) = delete;

  // Queues a shard as pending, or as done (`done`: a pass resumed after a restart). kAlreadyExists
  // if a shard with its id is known.
  absl::Status Add(star::v1::Shard shard, bool done = false);

  // Leases the oldest pending shard to `worker_id` for `lease_timeout`, waiting up to `wait`
  // for one: LeaseAsync() waited for on the calling thread. Returns nullopt when none became
  // available (or the queue was closed, or too many are waiting).
  std::optional<ShardLease> Lease(const std::string& worker_id, absl::Duration lease_timeout,
                                  absl::Duration wait);

  // Lease() without holding a thread while it waits: `done` is called exactly once, with a
  // lease or with nullopt (the wait ran out, the queue closed, or the same worker asked again,
  // which replaces its earlier wait: one wait per worker). It runs on the calling thread when
  // the answer is known at once, otherwise on the queue's dispatcher thread, never under the
  // queue's lock. Waiters are served in the order they came. kResourceExhausted (and `done`
  // is not called) when kMaxLeaseWaiters are already waiting.
  using LeaseCallback = std::function<void(std::optional<ShardLease>)>;
  static constexpr size_t kMaxLeaseWaiters = 200'000;
  absl::Status LeaseAsync(const std::string& worker_id, absl::Duration lease_timeout,
                          absl::Duration wait, LeaseCallback done);
  // How many LeaseAsync() calls are waiting now.
  size_t LeaseWaiters() const;

  // Extends a live lease by `lease_timeout` from now. kNotFound for an unknown lease,
  // kFailedPrecondition for a lease that expired or belongs to another worker.
  absl::StatusOr<absl::Time> Renew(const std::string& worker_id, const std::string& lease_id,
                                   absl::Duration lease_timeout);

  struct Completion {
    std::shared_ptr<const star::v1::Shard> shard;
    // True when the shard was already done: the caller must change nothing.
    bool duplicate = false;
  };
  // Marks the shard of a live lease done. A shard already done completes again as a duplicate
  // (acknowledged and ignored). kNotFound for an unknown shard or lease; kFailedPrecondition
  // when the lease expired, belongs to another worker or is not this shard's lease.
  absl::StatusOr<Completion> Complete(const std::string& worker_id, const std::string& lease_id,
                                      const std::string& shard_id);
  // Complete() in two halves, for a caller that records the completion durably in between:
  // CheckCompletion judges the submission as Complete() would and changes nothing; MarkDone
  // marks a known shard done (idempotent).
  absl::StatusOr<Completion> CheckCompletion(const std::string& worker_id,
                                             const std::string& lease_id,
                                             const std::string& shard_id);
  void MarkDone(const std::string& shard_id);

  // Returns expired leases' shards to the queue; Lease() also does this itself.
  void ExpireLeases();

  // The shard with this id, as it was added; nullptr when unknown.
  std::shared_ptr<const star::v1::Shard> Find(const std::string& shard_id) const;

  ShardCounts Counts() const;
  // True when every shard added is done (and at least one was added).
  bool AllDone() const;
  // The id of a shard given up after max_leases expired leases; nullopt when none was.
  std::optional<std::string> FailedShard() const;
  // Waits until the number of shards done or failed differs from `seen`, the queue is closed,
  // or `wait` passes; returns that number (what a pass waits on instead of polling).
  int64_t WaitForProgress(int64_t seen, absl::Duration wait) const;

  // Forgets every shard (a new pass begins). Leases of the old pass become unknown.
  void Clear();

  // Wakes every long-poll waiter and makes later Lease() calls return at once.
  void Close();

 private:
  enum class State { kPending, kLeased, kDone, kFailed };
  struct Entry {
    std::shared_ptr<const star::v1::Shard> shard;
    State state = State::kPending;
    int leases = 0;
    std::string lease_id;
    std::string worker_id;
    absl::Time expires;
  };

  struct Waiter {
    std::string worker_id;
    absl::Duration lease_timeout;
    absl::Time deadline;
    LeaseCallback done;
  };
  // Called back outside the lock.
  struct Answer {
    LeaseCallback done;
    std::optional<ShardLease> lease;
  };

  void ExpireLeasesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The oldest pending shard leased to `worker_id` (pending_ must not be empty).
  ShardLease LeaseLocked(const std::string& worker_id, absl::Duration lease_timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The dispatcher: pairs waiters with pending shards, answers the ones whose wait ran out.
  void Dispatch();
  // Removes waiter `sequence` from every index and returns its callback.
  LeaseCallback TakeWaiterLocked(uint64_t sequence) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves `entry` (shard `id`) to `next`, keeping the counts and the expiry index right.
  void SetStateLocked(const std::string& id, Entry& entry, State next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Completion> CheckCompletionLocked(const std::string& worker_id,
                                                   const std::string& lease_id,
                                                   const std::string& shard_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::function<absl::Time()> now_;
  const int max_leases_;
  mutable absl::Mutex mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Entry> shards_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> pending_ ABSL_GUARDED_BY(mu_);
  // The number in a lease id ("l-" and 16 hex digits) -> shard id, for every lease issued in
  // this pass. Ordered, not hashed: it grows while workers wait on the lock, and rehashing every
  // lease at once would stall them all; keyed by the number, not the text, so that a lookup
  // compares integers.
  std::map<uint64_t, std::string> leases_ ABSL_GUARDED_BY(mu_);
  int64_t expired_total_ ABSL_GUARDED_BY(mu_) = 0;
  // Shards in each State, and the leased ones by expiry: leasing, renewing and expiring cost
  // O(log n) however many shards a pass has.
  int64_t counts_[4] ABSL_GUARDED_BY(mu_) = {0, 0, 0, 0};
  std::set<std::pair<absl::Time, std::string>> expiry_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // LeaseAsync() waiters in arrival order (by sequence number), and each worker's one.
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> waiter_of_worker_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<absl::Time, uint64_t>> waiter_deadlines_ ABSL_GUARDED_BY(mu_);
  uint64_t next_waiter_ ABSL_GUARDED_BY(mu_) = 0;
  // Signalled when the dispatcher has work: a waiter came, a shard became pending, the queue
  // closed or is being destroyed.
  absl::CondVar dispatch_;
  // Signalled when a shard is done or has failed, and on Close().
  mutable absl::CondVar progress_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread dispatcher_;
};

}  // namespace star

#endif  // STAR_COORDINATOR_SHARD_QUEUE_H_
