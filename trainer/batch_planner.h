#ifndef STAR_TRAINER_BATCH_PLANNER_H_
#define STAR_TRAINER_BATCH_PLANNER_H_

// Plans the global batches of a training round. Examples are drawn in seeded random order,
// epoch after epoch; every kGroupedBatches batches' worth is sorted by sequence length, cut into
// batches and those batches shuffled, so that a batch holds sequences of similar length and pads
// little (on mixed 1-5 digit sums a batch drawn at random pads to its longest, nearly twice the
// mean). Every rank plans the same batches from the same seed. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace star {

class BatchPlanner {
 public:
  static constexpr int kGroupedBatches = 8;

  // `lengths[i]` is example i's length in tokens; at least one example, batch_size >= 1.
  BatchPlanner(std::vector<size_t> lengths, int64_t batch_size, uint64_t seed);
  BatchPlanner(const BatchPlanner&) = delete;
  BatchPlanner& operator=(const BatchPlanner&) = delete;

  // The example indices of the next global batch (batch_size of them).
  std::vector<size_t> NextBatch();

 private:
  size_t NextExample();
  void Plan();

  const std::vector<size_t> lengths_;
  const int64_t batch_size_;
  std::vector<size_t> order_;  // the current epoch's order
  size_t next_ = 0;
  std::mt19937_64 order_rng_;
  std::mt19937_64 batch_rng_;
  std::vector<std::vector<size_t>> planned_;
};

}  // namespace star

#endif  // STAR_TRAINER_BATCH_PLANNER_H_
