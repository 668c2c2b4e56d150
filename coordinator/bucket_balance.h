#ifndef STAR_COORDINATOR_BUCKET_BALANCE_H_
#define STAR_COORDINATOR_BUCKET_BALANCE_H_

// How many times each kept rationale is put into an iteration's training set when
// filter.bucket_balance_max_repeat asks for balancing. A kept set is dominated by the buckets
// the model already solves (for addition: the short sums); the rare rationales of the bucket it
// is just starting to solve are what the next model must learn from, so they are repeated.

#include <cstdint>
#include <string>
#include <vector>

namespace star {

// For examples whose buckets are `bucket_of` (one entry per example), the number of copies of
// each: every example of a bucket with c examples gets min(max_repeat, round(largest / c))
// copies, where `largest` is the count of the most frequent bucket; so each bucket's share
// approaches the largest's, and no example is repeated more than max_repeat times. With
// max_repeat <= 1 every example gets one copy. Pure; thread-safe.
std::vector<uint32_t> BalancedCopies(const std::vector<std::string>& bucket_of, uint32_t max_repeat);

}  // namespace star

#endif  // STAR_COORDINATOR_BUCKET_BALANCE_H_
