#include "coordinator/shard_queue.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace star {

ShardQueue::ShardQueue(std::function<absl::Time()> now, int max_leases)
    : now_(std::move(now)), max_leases_(std::max(1, max_leases)) {}

absl::Status ShardQueue::Add(star::v1::Shard shard, bool done) {
  absl::MutexLock lock(&mu_);
  std::string id = shard.shard_id();
  if (shards_.contains(id)) {
    return absl::AlreadyExistsError(absl::StrFormat("shard '%s' is already queued", id));
  }
  Entry& entry = shards_[id];
  entry.shard = std::move(shard);
  ++counts_[static_cast<int>(State::kPending)];
  if (done) {
    SetStateLocked(id, entry, State::kDone);
    return absl::OkStatus();
  }
  pending_.push_back(id);
  pending_available_.Signal();
  return absl::OkStatus();
}

void ShardQueue::SetStateLocked(const std::string& id, Entry& entry, State next) {
  if (entry.state == State::kLeased) expiry_.erase({entry.expires, id});
  --counts_[static_cast<int>(entry.state)];
  ++counts_[static_cast<int>(next)];
  entry.state = next;
  if (next == State::kLeased) expiry_.insert({entry.expires, id});
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
    pending_available_.Signal();
  }
}

void ShardQueue::ExpireLeases() {
  absl::MutexLock lock(&mu_);
  ExpireLeasesLocked();
}

std::optional<ShardLease> ShardQueue::Lease(const std::string& worker_id,
                                            absl::Duration lease_timeout, absl::Duration wait) {
  absl::Time deadline = absl::Now() + wait;
  absl::MutexLock lock(&mu_);
  while (true) {
    ExpireLeasesLocked();
    if (closed_) return std::nullopt;
    if (!pending_.empty()) break;
    // Wake at least once a second so that leases expiring meanwhile are noticed.
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::nullopt;
    pending_available_.WaitWithTimeout(&mu_, std::min(left, absl::Seconds(1)));
  }
  std::string id = pending_.front();
  pending_.pop_front();
  Entry& entry = shards_[id];
  ++entry.leases;
  entry.worker_id = worker_id;
  entry.lease_id = absl::StrFormat("l-%016x", absl::Uniform<uint64_t>(gen_));
  entry.expires = now_() + lease_timeout;
  SetStateLocked(id, entry, State::kLeased);
  leases_[entry.lease_id] = id;
  return ShardLease{entry.lease_id, entry.shard, entry.expires};
}

absl::StatusOr<absl::Time> ShardQueue::Renew(const std::string& worker_id,
                                             const std::string& lease_id,
                                             absl::Duration lease_timeout) {
  absl::MutexLock lock(&mu_);
  ExpireLeasesLocked();
  auto lease = leases_.find(lease_id);
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
  auto lease = leases_.find(lease_id);
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

std::optional<star::v1::Shard> ShardQueue::Find(const std::string& shard_id) const {
  absl::MutexLock lock(&mu_);
  auto it = shards_.find(shard_id);
  if (it == shards_.end()) return std::nullopt;
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
  for (const auto& [id, entry] : shards_) {
    if (entry.state == State::kFailed) return id;
  }
  return std::nullopt;
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
  pending_available_.SignalAll();
}

}  // namespace star
