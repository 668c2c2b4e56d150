#ifndef STAR_MODEL_AUTOCAST_SCOPE_H_
#define STAR_MODEL_AUTOCAST_SCOPE_H_

// Mixed precision as torch.autocast does it, for a C++ scope: inside it, on one device type,
// matrix products and attention compute in a lower precision (bfloat16 here) while what autocast
// keeps in float32 (norms, softmax, losses) stays there; the float32 weights stay the master
// copy. Autocast state is per thread. Not thread-safe: a scope belongs to the thread that
// opened it.

#include <torch/torch.h>

namespace star {

class AutocastScope {
 public:
  // Enables bfloat16 autocast on `device_type` until destruction when `enabled`; otherwise
  // changes nothing.
  AutocastScope(torch::DeviceType device_type, bool enabled);
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;
  // Restores the state found at construction. Leaving the outermost scope drops the bfloat16
  // copies of the weights autocast cached: an optimiser step changes the weights.
  ~AutocastScope();

 private:
  torch::DeviceType device_type_;
  bool enabled_;
  bool was_enabled_ = false;
  torch::Dtype previous_dtype_ = torch::kBFloat16;
};

}  // namespace star

#endif  // STAR_MODEL_AUTOCAST_SCOPE_H_
