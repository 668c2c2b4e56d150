#ifndef STAR_COORDINATOR_RATIONALE_STORE_H_
#define STAR_COORDINATOR_RATIONALE_STORE_H_

// What the coordinator verified: the accepted rationales of every iteration (the training set
// of its round) and the outcome of every evaluation question. In memory; thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace star {

struct AcceptedRationale {
  std::string job_id;
  uint32_t iteration = 0;
  uint64_t question_id = 0;
  std::string shard_id;
  // The un-hinted prompt: a rationalized sample is trained as if it had come without the hint.
  std::string prompt;
  std::string completion;
  bool rationalized = false;
};

struct EvaluationOutcome {
  std::string job_id;
  uint32_t iteration = 0;
  uint64_t question_id = 0;
  std::string bucket;
  bool correct = false;
};

struct BucketCount {
  uint32_t correct = 0;
  uint32_t total = 0;
};

class RationaleStore {
 public:
  void Add(std::vector<AcceptedRationale> accepted);
  void AddEvaluations(std::vector<EvaluationOutcome> outcomes);
  // Correct and total evaluation answers of an iteration, by bucket (ordered by bucket name).
  std::map<std::string, BucketCount> Accuracy(const std::string& job_id, uint32_t iteration) const;
  // Accepted rationales of one iteration of a job, in the order they were added.
  std::vector<AcceptedRationale> ForIteration(const std::string& job_id, uint32_t iteration) const;
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<AcceptedRationale> accepted_ ABSL_GUARDED_BY(mu_);
  std::vector<EvaluationOutcome> evaluations_ ABSL_GUARDED_BY(mu_);
};

}  // namespace star

#endif  // STAR_COORDINATOR_RATIONALE_STORE_H_
