#ifndef STAR_SERVICE_STOP_FLAG_H_
#define STAR_SERVICE_STOP_FLAG_H_

// A one-way "stop now" flag that loops check and that sleeps can be woken from. Thread-safe.

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace star {

class StopFlag {
 public:
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }

  bool stopped() const {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }

  // Sleeps for `d` or until Stop(), whichever is first. Returns stopped().
  bool SleepFor(absl::Duration d) const {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopped_), d);
    return stopped_;
  }

 private:
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace star

#endif  // STAR_SERVICE_STOP_FLAG_H_
