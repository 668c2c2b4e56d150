#include "coordinator/iteration_schedule.h"

#include <algorithm>
#include <cmath>

namespace star {

uint32_t StepsForIteration(const star::v1::TrainingSpec& t, uint32_t iteration) {
  double n = static_cast<double>(iteration) - 1;
  double steps = t.initial_steps() * std::pow(1.0 + t.growth_percent() / 100.0, n) +
                 t.step_increment() * n;
  return static_cast<uint32_t>(std::max(1.0, std::round(steps)));
}

bool PlateauRule::Stop(const star::v1::IterationResult& result) {
  uint32_t correct = 0, total = 0;
  for (const auto& b : result.accuracy()) {
    correct += b.correct();
    total += b.total();
  }
  const double accuracy = total ? static_cast<double>(correct) / total : 0;
  if (accuracy > best_ + min_gain_) {
    best_ = accuracy;
    stale_ = 0;
    return false;
  }
  return patience_ > 0 && ++stale_ >= patience_;
}

}  // namespace star
