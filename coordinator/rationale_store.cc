#include "coordinator/rationale_store.h"

namespace star {

void RationaleStore::Add(std::vector<AcceptedRationale> accepted) {
  absl::MutexLock lock(&mu_);
  for (AcceptedRationale& r : accepted) accepted_.push_back(std::move(r));
}

std::vector<AcceptedRationale> RationaleStore::ForIteration(const std::string& job_id,
                                                            uint32_t iteration) const {
  absl::MutexLock lock(&mu_);
  std::vector<AcceptedRationale> out;
  for (const AcceptedRationale& r : accepted_) {
    if (r.job_id == job_id && r.iteration == iteration) out.push_back(r);
  }
  return out;
}

void RationaleStore::AddEvaluations(std::vector<EvaluationOutcome> outcomes) {
  absl::MutexLock lock(&mu_);
  for (EvaluationOutcome& o : outcomes) evaluations_.push_back(std::move(o));
}

std::map<std::string, BucketCount> RationaleStore::Accuracy(const std::string& job_id,
                                                            uint32_t iteration) const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, BucketCount> out;
  for (const EvaluationOutcome& o : evaluations_) {
    if (o.job_id != job_id || o.iteration != iteration) continue;
    BucketCount& c = out[o.bucket];
    ++c.total;
    if (o.correct) ++c.correct;
  }
  return out;
}

size_t RationaleStore::size() const {
  absl::MutexLock lock(&mu_);
  return accepted_.size();
}

}  // namespace star
