#include "coordinator/shard_queue.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_format.h"
#include "coordinator/await_answer.h"

namespace star {
namespace {

// The number of a lease id the queue issued ("l-" and 16 hex digits); nullopt for any other text.
std::optional<uint64_t> LeaseNumber(const std::string& lease_id) {
  if (lease_id.size() != 18 || lease_id.rfind("l-", 0) != 0) return std::nullopt;
  uint64_t number = 0;
  for (char c : std::string_view(lease_id).substr(2)) {
    if (c >= '0' && c <= '9') {
      number = number * 16 + static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      number = number * 16 + static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
  }
  return number;
}

}  // namespace

ShardQueue::ShardQueue(std::function<absl::Time()> now, int max_leases)
    : now_(std::move(now)), max_leases_(std::max(1, max_leases)), dispatcher_([this] { Dispatch(); }) {}

ShardQueue::~ShardQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    dispatch_.Signal();
  }
  dispatcher_.join();
}

ShardLease ShardQueue::LeaseLocked(const std::string& worker_id, absl::Duration lease_timeout) {
  std::string id = pending_.front();
  pending_.pop_front();
  Entry& entry = shards_[id];
  ++entry.leases;
  entry.worker_id = worker_id;
  uint64_t number = absl::Uniform<uint64_t>(gen_);
  while (leases_.contains(number)) number = absl::Uniform<uint64_t>(gen_);
  entry.lease_id = absl::StrFormat("l-%016x", number);
  entry.expires = now_() + lease_timeout;
  SetStateLocked(id, entry, State::kLeased);
  leases_[number] = id;
  return ShardLease{entry.lease_id, entry.shard, entry.expires};
}

absl::Status ShardQueue::LeaseAsync(const std::string& worker_id, absl::Duration lease_timeout,
                                    absl::Duration wait, LeaseCallback done) {
  std::vector<Answer> answers;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    ExpireLeasesLocked();
    // A worker waits once: a new wait answers its earlier one (empty) and takes its place.
    if (auto it = waiter_of_worker_.find(worker_id); it != waiter_of_worker_.end()) {
      answers.push_back({TakeWaiterLocked(it->second), std::nullopt});
    }
    if (closed_) {
      answers.push_back({std::move(done), std::nullopt});
    } else if (!pending_.empty() && waiters_.empty()) {
      answers.push_back({std::move(done), LeaseLocked(worker_id, lease_timeout)});
    } else if (wait <= absl::ZeroDuration()) {
      answers.push_back({std::move(done), std::nullopt});
    } else if (waiters_.size() >= kMaxLeaseWaiters) {
      status = absl::ResourceExhaustedError(absl::StrFormat(
          "%d lease requests are already waiting; ask again later", waiters_.size()));
    } else {
      const uint64_t sequence = next_waiter_++;
      const absl::Time deadline = absl::Now() + wait;
      waiters_[sequence] = Waiter{worker_id, lease_timeout, deadline, std::move(done)};
      waiter_of_worker_[worker_id] = sequence;
      waiter_deadlines_.insert({deadline, sequence});
      dispatch_.Signal();
    }
  }
  for (Answer& a : answers) a.done(std::move(a.lease));
  return status;
}

ShardQueue::LeaseCallback ShardQueue::TakeWaiterLocked(uint64_t sequence) {
  auto it = waiters_.find(sequence);
  LeaseCallback done = std::move(it->second.done);
  waiter_of_worker_.erase(it->second.worker_id);
  waiter_deadlines_.erase({it->second.deadline, sequence});
  waiters_.erase(it);
  return done;
}

size_t ShardQueue::LeaseWaiters() const {
  absl::MutexLock lock(&mu_);
  return waiters_.size();
}

void ShardQueue::Dispatch() {
  while (true) {
    std::vector<Answer> answers;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ && waiters_.empty()) return;
      // Idle until someone waits. While waiters have no shard to take, wake for new work, at the
      // earliest deadline, and at least once a second (leases that run out meanwhile send their
      // shards back to the queue).
      if (!stopping_) {
        if (waiters_.empty()) {
          dispatch_.Wait(&mu_);
        } else if (pending_.empty() && !closed_) {
          const absl::Duration sleep =
              std::min(absl::Seconds(1), waiter_deadlines_.begin()->first - absl::Now());
          if (sleep > absl::ZeroDuration()) dispatch_.WaitWithTimeout(&mu_, sleep);
        }
      }
      if (waiters_.empty()) continue;
      ExpireLeasesLocked();
      while (!waiters_.empty() && !pending_.empty() && !closed_ && !stopping_) {
        const uint64_t first = waiters_.begin()->first;
        const std::string worker_id = waiters_.begin()->second.worker_id;
        const absl::Duration lease_timeout = waiters_.begin()->second.lease_timeout;
        answers.push_back({TakeWaiterLocked(first), LeaseLocked(worker_id, lease_timeout)});
      }
      const absl::Time now = absl::Now();
      while (!waiter_deadlines_.empty() &&
             (closed_ || stopping_ || waiter_deadlines_.begin()->first <= now)) {
        answers.push_back({TakeWaiterLocked(waiter_deadlines_.begin()->second), std::nullopt});
      }
    }
    for (Answer& a : answers) a.done(std::move(a.lease));
  }
}

absl::Status ShardQueue::Add(star::v1::Shard shard, bool done) {
  absl::MutexLock lock(&mu_);
  std::string id = shard.shard_id();
  if (shards_.contains(id)) {
    return absl::AlreadyExistsError(absl::StrFormat("shard '%s' is already queued", id));
  }
  Entry& entry = shards_[id];
  entry.shard = std::make_shared<const star::v1::Shard>(std::move(shard));
  ++counts_[static_cast<int>(State::kPending)];
  if (done) {
    SetStateLocked(id, entry, State::kDone);
    return absl::OkStatus();
  }
  pending_.push_back(id);
  if (!waiters_.empty()) dispatch_.Signal();
  return absl::OkStatus();
}

void ShardQueue::SetStateLocked(const std::string& id, Entry& entry, State next) {
  if (entry.state == State::kLeased) expiry_.erase({entry.expires, id});
  --counts_[static_cast<int>(entry.state)];
  ++counts_[static_cast<int>(next)];
  entry.state = next;
  if (next == State::kLeased) expiry_.insert({entry.expires, id});
  if (next == State::kDone || next == State::kFailed) progress_.SignalAll();
}

int64_t ShardQueue::WaitForProgress(int64_t seen, absl::Duration wait) const {
  const absl::Time deadline = absl::Now() + wait;
  absl::MutexLock lock(&mu_);
  auto ended = [this] {
    return counts_[static_cast<int>(State::kDone)] + counts_[static_cast<int>(State::kFailed)];
  };
  while (ended() == seen && !closed_ && !progress_.WaitWithDeadline(&mu_, deadline)) {
  }
  return ended();
}

void ShardQueue::ExpireLeasesLocked() {
  absl::Time now = now_();
  while (!expiry_.empty() && expiry_.begin()->first <= now) {
    const std::string id = expiry_.begin()->second;
    Entry& entry = shards_[id];
    entry.worker_id.clear();
    entry.lease_id.clear();
    ++expired_total_;
    if (entry.leases >= max_leases_) {
      SetStateLocked(id, entry, State::kFailed);
      continue;
    }
    SetStateLocked(id, entry, State::kPending);
    // Re-leased before fresh work: an expired shard is the one holding a pass back.
    pending_.push_front(id);
    if (!waiters_.empty()) dispatch_.Signal();
  }
}

void ShardQueue::ExpireLeases() {
  absl::MutexLock lock(&mu_);
  ExpireLeasesLocked();
}

std::optional<ShardLease> ShardQueue::Lease(const std::string& worker_id,
                                            absl::Duration lease_timeout, absl::Duration wait) {
  return AwaitAnswer<std::optional<ShardLease>>(
      [&](auto done) { return LeaseAsync(worker_id, lease_timeout, wait, done); });
}

absl::StatusOr<absl::Time> ShardQueue::Renew(const std::string& worker_id,
                                             const std::string& lease_id,
                                             absl::Duration lease_timeout) {
  absl::MutexLock lock(&mu_);
  ExpireLeasesLocked();
  std::optional<uint64_t> number = LeaseNumber(lease_id);
  auto lease = number ? leases_.find(*number) : leases_.end();
  if (lease == leases_.end()) {
    return absl::NotFoundError(absl::StrFormat("lease_id '%s' is unknown", lease_id));
  }
  Entry& entry = shards_[lease->second];
  if (entry.state == State::kDone) {
    return absl::FailedPreconditionError(
        absl::StrFormat("lease_id '%s': shard '%s' is already done", lease_id, lease->second));
  }
  if (entry.lease_id != lease_id) {
    return absl::FailedPreconditionError(
        absl::StrFormat("lease_id '%s' has expired; shard '%s' went back to the queue",
                        lease_id, lease->second));
  }
  if (entry.worker_id != worker_id) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "lease_id '%s' belongs to another worker than '%s'", lease_id, worker_id));
  }
  expiry_.erase({entry.expires, lease->second});
  entry.expires = now_() + lease_timeout;
  expiry_.insert({entry.expires, lease->second});
  return entry.expires;
}

absl::StatusOr<ShardQueue::Completion> ShardQueue::Complete(const std::string& worker_id,
                                                            const std::string& lease_id,
                                                            const std::string& shard_id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Completion> completion = CheckCompletionLocked(worker_id, lease_id, shard_id);
  if (completion.ok() && !completion->duplicate) SetStateLocked(shard_id, shards_[shard_id], State::kDone);
  return completion;
}

absl::StatusOr<ShardQueue::Completion> ShardQueue::CheckCompletion(const std::string& worker_id,
                                                                   const std::string& lease_id,
                                                                   const std::string& shard_id) {
  absl::MutexLock lock(&mu_);
  return CheckCompletionLocked(worker_id, lease_id, shard_id);
}

void ShardQueue::MarkDone(const std::string& shard_id) {
  absl::MutexLock lock(&mu_);
  auto it = shards_.find(shard_id);
  if (it == shards_.end() || it->second.state == State::kDone) return;
  if (it->second.state == State::kPending) {
    pending_.erase(std::remove(pending_.begin(), pending_.end(), shard_id), pending_.end());
  }
  SetStateLocked(shard_id, it->second, State::kDone);
}

absl::StatusOr<ShardQueue::Completion> ShardQueue::CheckCompletionLocked(
    const std::string& worker_id, const std::string& lease_id, const std::string& shard_id) {
  ExpireLeasesLocked();
  auto it = shards_.find(shard_id);
  if (it == shards_.end()) {
    return absl::NotFoundError(absl::StrFormat("shard_id '%s' is unknown", shard_id));
  }
  Entry& entry = it->second;
  std::optional<uint64_t> number = LeaseNumber(lease_id);
  auto lease = number ? leases_.find(*number) : leases_.end();
  if (lease == leases_.end()) {
    return absl::NotFoundError(absl::StrFormat("lease_id '%s' is unknown", lease_id));
  }
  if (lease->second != shard_id) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "lease_id '%s' is for shard '%s', not shard_id '%s'", lease_id, lease->second, shard_id));
  }
  if (entry.state == State::kDone) return Completion{entry.shard, /*duplicate=*/true};
  if (entry.lease_id != lease_id) {
    return absl::FailedPreconditionError(
        absl::StrFormat("lease_id '%s' has expired; shard '%s' went back to the queue",
                        lease_id, shard_id));
  }
  if (entry.worker_id != worker_id) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "lease_id '%s' belongs to another worker than '%s'", lease_id, worker_id));
  }
  return Completion{entry.shard, /*duplicate=*/false};
}

std::shared_ptr<const star::v1::Shard> ShardQueue::Find(const std::string& shard_id) const {
  absl::MutexLock lock(&mu_);
  auto it = shards_.find(shard_id);
  if (it == shards_.end()) return nullptr;
  return it->second.shard;
}

ShardCounts ShardQueue::Counts() const {
  absl::MutexLock lock(&mu_);
  ShardCounts counts;
  counts.pending = counts_[static_cast<int>(State::kPending)];
  counts.leased = counts_[static_cast<int>(State::kLeased)];
  counts.done = counts_[static_cast<int>(State::kDone)];
  counts.failed = counts_[static_cast<int>(State::kFailed)];
  counts.expired_total = expired_total_;
  return counts;
}

bool ShardQueue::AllDone() const {
  absl::MutexLock lock(&mu_);
  return !shards_.empty() &&
         counts_[static_cast<int>(State::kDone)] == static_cast<int64_t>(shards_.size());
}

std::optional<std::string> ShardQueue::FailedShard() const {
  absl::MutexLock lock(&mu_);
  if (counts_[static_cast<int>(State::kFailed)] == 0) return std::nullopt;
  // The first by id, whatever the map's order.
  std::optional<std::string> first;
  for (const auto& [id, entry] : shards_) {
    if (entry.state == State::kFailed && (!first || id < *first)) first = id;
  }
  return first;
}

void ShardQueue::Clear() {
  absl::MutexLock lock(&mu_);
  shards_.clear();
  pending_.clear();
  leases_.clear();
  expiry_.clear();
  for (int64_t& count : counts_) count = 0;
}

void ShardQueue::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  progress_.SignalAll();
  dispatch_.Signal();
}

}  // namespace star
