#ifndef STAR_SERVICE_BACKOFF_H_
#define STAR_SERVICE_BACKOFF_H_

// Exponential backoff with full jitter, for retrying calls to a coordinator that is down or
// restarting. Not thread-safe.

#include "absl/random/random.h"
#include "absl/time/time.h"

namespace star {

class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max) : initial_(initial), max_(max), next_(initial) {}

  // The pause before the next attempt: uniform in [0, current], the ceiling doubling up to max.
  absl::Duration Next() {
    absl::Duration ceiling = next_;
    next_ = std::min(next_ * 2, max_);
    return absl::Nanoseconds(absl::Uniform<int64_t>(gen_, 0, absl::ToInt64Nanoseconds(ceiling) + 1));
  }

  // After a success: start again from the initial pause.
  void Reset() { next_ = initial_; }

 private:
  absl::Duration initial_;
  absl::Duration max_;
  absl::Duration next_;
  absl::BitGen gen_;
};

}  // namespace star

#endif  // STAR_SERVICE_BACKOFF_H_
