#ifndef STAR_COORDINATOR_CLUSTER_REGISTRY_H_
#define STAR_COORDINATOR_CLUSTER_REGISTRY_H_

// The workers and trainer ranks the coordinator knows of, with when each was last heard from.
// Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "star/v1/jobs.pb.h"

namespace star {

class ClusterRegistry {
 public:
  // `now` is the clock (absl::Now in production, a fake in tests).
  explicit ClusterRegistry(std::function<absl::Time()> now = absl::Now);

  ClusterRegistry(const ClusterRegistry&) = delete;
  ClusterRegistry& operator=(const ClusterRegistry&) = delete;

  // Records a new worker and returns its id ("w-" and 16 hex digits, unique across restarts).
  std::string RegisterWorker(const std::string& hostname);
  // Marks a worker as seen. kNotFound for an id never registered here.
  absl::Status TouchWorker(const std::string& worker_id);

  // Records or refreshes a trainer rank under the id it chose.
  void TouchTrainer(const std::string& trainer_id, const std::string& hostname, bool has_cuda);

  // Members seen within `max_age` (all members when max_age is infinite).
  star::v1::ClusterStatus Snapshot(absl::Duration max_age = absl::InfiniteDuration()) const;

 private:
  std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, star::v1::WorkerInfo> workers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, star::v1::TrainerInfo> trainers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace star

#endif  // STAR_COORDINATOR_CLUSTER_REGISTRY_H_
