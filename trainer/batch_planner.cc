#include "trainer/batch_planner.h"

#include <algorithm>
#include <numeric>

namespace star {

BatchPlanner::BatchPlanner(std::vector<size_t> lengths, int64_t batch_size, uint64_t seed)
    : lengths_(std::move(lengths)),
      batch_size_(batch_size),
      order_(lengths_.size()),
      next_(lengths_.size()),
      order_rng_(seed),
      batch_rng_(seed + 1) {}

size_t BatchPlanner::NextExample() {
  if (next_ == order_.size()) {
    std::iota(order_.begin(), order_.end(), 0);
    std::shuffle(order_.begin(), order_.end(), order_rng_);
    next_ = 0;
  }
  return order_[next_++];
}

std::vector<size_t> BatchPlanner::NextBatch() {
  if (planned_.empty()) Plan();
  std::vector<size_t> batch = std::move(planned_.back());
  planned_.pop_back();
  return batch;
}

void BatchPlanner::Plan() {
  std::vector<size_t> drawn(kGroupedBatches * batch_size_);
  for (size_t& index : drawn) index = NextExample();
  std::stable_sort(drawn.begin(), drawn.end(),
                   [&](size_t a, size_t b) { return lengths_[a] < lengths_[b]; });
  for (size_t first = 0; first < drawn.size(); first += batch_size_) {
    planned_.emplace_back(drawn.begin() + first, drawn.begin() + first + batch_size_);
  }
  std::shuffle(planned_.begin(), planned_.end(), batch_rng_);
}

}  // namespace star
