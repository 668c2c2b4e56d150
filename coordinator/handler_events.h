#ifndef STAR_COORDINATOR_HANDLER_EVENTS_H_
#define STAR_COORDINATOR_HANDLER_EVENTS_H_

// What the Coordinator's handlers report as they serve, for whoever counts it (the Prometheus
// metrics, coordinator/coordinator_metrics.h). The handlers know this interface only; the
// metrics read the coordinator's state back through its public accessors.

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "star/v1/coordinator.pb.h"

namespace star {

class HandlerEvents {
 public:
  virtual ~HandlerEvents() = default;
  // outcome: "leased" (a shard was handed out), "empty" (the long-poll ended without one),
  // "error" (the request was refused).
  virtual void RecordLeaseShard(absl::Duration took, const std::string& outcome) = 0;
  // outcome: "completed", "duplicate" or "refused" (an error status, nothing changed).
  virtual void RecordShardResult(const std::string& outcome) = 0;
  // A shard of `kind` completed with `questions` question results.
  virtual void RecordQuestionsAttempted(star::v1::ShardKind kind, int64_t questions) = 0;
  // One sample re-verified by the coordinator.
  virtual void RecordVerifiedSample(star::v1::ShardKind kind, bool rationalized, bool accepted) = 0;
};

}  // namespace star

#endif  // STAR_COORDINATOR_HANDLER_EVENTS_H_
