#include "coordinator/bucket_balance.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace star {

std::vector<uint32_t> BalancedCopies(const std::vector<std::string>& bucket_of, uint32_t max_repeat) {
  std::vector<uint32_t> copies(bucket_of.size(), 1);
  if (max_repeat <= 1) return copies;
  std::map<std::string, size_t> count;
  for (const std::string& bucket : bucket_of) ++count[bucket];
  size_t largest = 0;
  for (const auto& [bucket, c] : count) largest = std::max(largest, c);
  for (size_t i = 0; i < bucket_of.size(); ++i) {
    const double ratio = static_cast<double>(largest) / static_cast<double>(count[bucket_of[i]]);
    copies[i] = static_cast<uint32_t>(std::clamp<double>(std::round(ratio), 1, max_repeat));
  }
  return copies;
}

}  // namespace star
