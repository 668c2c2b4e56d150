#ifndef STAR_COORDINATOR_KEPT_SET_H_
#define STAR_COORDINATOR_KEPT_SET_H_

// What a STaR iteration trains on: the rationales the coordinator verified, filtered as the
// job's FilterSpec says (one copy of identical rationales of a question, at most
// max_kept_per_question per question, rare buckets repeated), each trained as the continuation
// of its question's training prompt (the task's own prompt: no few-shot exemplar, no hint).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "coordinator/state_store.h"
#include "nlohmann/json.hpp"
#include "star/v1/job.pb.h"
#include "star/v1/training.pb.h"

namespace star {

// A training-pool question as the kept set needs it.
struct PoolQuestion {
  uint64_t id = 0;
  std::string bucket;
  std::string training_prompt;
};

struct KeptSet {
  // The round's examples: every kept rationale, then the bucket-balance copies.
  std::vector<star::v1::TrainingExample> examples;
  // One line per kept rationale (question_id, rationalized, prompt, completion), what
  // job_dir/iterations/N/train.jsonl holds.
  std::vector<nlohmann::json> log;
  uint32_t accepted_direct = 0;
  uint32_t accepted_rationalized = 0;
  // Pool questions without a kept rationale.
  uint32_t rejected = 0;
  // Per bucket of the pool, in bucket order: questions, answered directly, only hinted.
  std::vector<star::v1::BucketKept> buckets;
};

// `accepted` in the order the store gives them (the order of acceptance); rationales of
// questions outside `pool` are ignored.
KeptSet BuildKeptSet(const std::vector<AcceptedRationale>& accepted,
                     const std::vector<PoolQuestion>& pool, const star::v1::FilterSpec& filter);

}  // namespace star

#endif  // STAR_COORDINATOR_KEPT_SET_H_
