#include "coordinator/cluster_registry.h"

#include <algorithm>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"

namespace star {

ClusterRegistry::ClusterRegistry(std::function<absl::Time()> now) : now_(std::move(now)) {}

std::string ClusterRegistry::RegisterWorker(const std::string& hostname) {
  absl::MutexLock lock(&mu_);
  std::string id = absl::StrFormat("w-%016x", absl::Uniform<uint64_t>(gen_));
  star::v1::WorkerInfo& info = workers_[id];
  info.set_worker_id(id);
  info.set_hostname(hostname);
  info.set_last_seen_unix_ms(absl::ToUnixMillis(now_()));
  return id;
}

absl::Status ClusterRegistry::TouchWorker(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    return absl::NotFoundError(
        absl::StrFormat("worker_id '%s' is not registered (register again)", worker_id));
  }
  it->second.set_last_seen_unix_ms(absl::ToUnixMillis(now_()));
  return absl::OkStatus();
}

void ClusterRegistry::TouchTrainer(const std::string& trainer_id, const std::string& hostname,
                                   bool has_cuda) {
  absl::MutexLock lock(&mu_);
  star::v1::TrainerInfo& info = trainers_[trainer_id];
  info.set_trainer_id(trainer_id);
  info.set_hostname(hostname);
  info.set_has_cuda(has_cuda);
  info.set_last_seen_unix_ms(absl::ToUnixMillis(now_()));
}

star::v1::ClusterStatus ClusterRegistry::Snapshot(absl::Duration max_age) const {
  star::v1::ClusterStatus out;
  absl::MutexLock lock(&mu_);
  int64_t oldest = max_age == absl::InfiniteDuration()
                       ? INT64_MIN
                       : absl::ToUnixMillis(now_() - max_age);
  std::vector<const star::v1::WorkerInfo*> workers;
  for (const auto& [id, info] : workers_) {
    if (info.last_seen_unix_ms() >= oldest) workers.push_back(&info);
  }
  // By id, as trainers are.
  std::sort(workers.begin(), workers.end(), [](const auto* a, const auto* b) {
    return a->worker_id() < b->worker_id();
  });
  for (const star::v1::WorkerInfo* info : workers) *out.add_workers() = *info;
  for (const auto& [id, info] : trainers_) {
    if (info.last_seen_unix_ms() >= oldest) *out.add_trainers() = info;
  }
  return out;
}

}  // namespace star
