#include "coordinator/kept_set.h"

#include <set>

#include "coordinator/bucket_balance.h"

namespace star {

KeptSet BuildKeptSet(const std::vector<AcceptedRationale>& accepted,
                     const std::vector<PoolQuestion>& pool, const star::v1::FilterSpec& filter) {
  KeptSet kept;
  std::map<uint64_t, const PoolQuestion*> question_of;
  for (const PoolQuestion& q : pool) question_of[q.id] = &q;
  std::set<std::pair<uint64_t, std::string>> seen;
  std::map<uint64_t, uint32_t> per_question;
  std::set<uint64_t> answered, direct;
  std::vector<std::string> bucket_of;  // of each kept rationale
  for (const AcceptedRationale& r : accepted) {
    const auto q = question_of.find(r.question_id);
    if (q == question_of.end()) continue;
    if (filter.deduplicate() && !seen.insert({r.question_id, r.completion}).second) continue;
    if (filter.max_kept_per_question() > 0 &&
        per_question[r.question_id] >= filter.max_kept_per_question()) {
      continue;
    }
    ++per_question[r.question_id];
    ++(r.rationalized ? kept.accepted_rationalized : kept.accepted_direct);
    answered.insert(r.question_id);
    if (!r.rationalized) direct.insert(r.question_id);
    bucket_of.push_back(q->second->bucket);
    kept.log.push_back({{"question_id", r.question_id},
                        {"rationalized", r.rationalized},
                        {"prompt", q->second->training_prompt},
                        {"completion", r.completion}});
    star::v1::TrainingExample e;
    e.set_example_id(kept.examples.size());
    e.set_prompt(q->second->training_prompt);
    e.set_completion(r.completion);
    kept.examples.push_back(std::move(e));
  }
  kept.rejected = static_cast<uint32_t>(pool.size() - answered.size());
  if (filter.bucket_balance_max_repeat() > 1) {
    const std::vector<uint32_t> copies = BalancedCopies(bucket_of, filter.bucket_balance_max_repeat());
    const size_t unique = kept.examples.size();
    for (size_t i = 0; i < unique; ++i) {
      for (uint32_t c = 1; c < copies[i]; ++c) {
        star::v1::TrainingExample e = kept.examples[i];
        e.set_example_id(kept.examples.size());
        kept.examples.push_back(std::move(e));
      }
    }
  }
  std::map<std::string, star::v1::BucketKept> buckets;
  for (const PoolQuestion& q : pool) {
    star::v1::BucketKept& b = buckets[q.bucket];
    b.set_bucket(q.bucket);
    b.set_questions(b.questions() + 1);
    if (direct.contains(q.id)) {
      b.set_direct(b.direct() + 1);
    } else if (answered.contains(q.id)) {
      b.set_rationalized(b.rationalized() + 1);
    }
  }
  for (auto& [name, b] : buckets) kept.buckets.push_back(std::move(b));
  return kept;
}

}  // namespace star
