#ifndef STAR_TRAINER_ADAMW_H_
#define STAR_TRAINER_ADAMW_H_

// AdamW (decoupled weight decay, as torch.optim.AdamW) over float32 parameters, stepped with
// ATen's fused multi-tensor kernel (`_fused_adamw_`, what torch.optim.AdamW(fused=True) runs):
// one kernel per step on CUDA instead of several per parameter. Its moments live on the
// parameters' device in float32. Not thread-safe.

#include <vector>

#include <torch/torch.h>

namespace star {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
};

class AdamW {
 public:
  // `parameters` are float32 leaves on one device; they must outlive this optimiser.
  AdamW(std::vector<torch::Tensor> parameters, AdamWOptions options);

  AdamW(const AdamW&) = delete;
  AdamW& operator=(const AdamW&) = delete;

  // One update at learning rate `lr` from the parameters' current gradients (a parameter
  // without one is left alone, its moments and step count unchanged).
  void Step(double lr);

  // Drops every gradient (the next backward pass allocates them afresh).
  void ZeroGrad();

 private:
  struct State {
    torch::Tensor exp_avg, exp_avg_sq, step;  // step: a float32 scalar, as the kernel wants
  };
  std::vector<torch::Tensor> parameters_;
  std::vector<State> state_;
  AdamWOptions options_;
};

}  // namespace star

#endif  // STAR_TRAINER_ADAMW_H_
