#include "trainer/adamw.h"

namespace star {

AdamW::AdamW(std::vector<torch::Tensor> parameters, AdamWOptions options)
    : parameters_(std::move(parameters)), options_(options) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& p : parameters_) {
    TORCH_CHECK(p.scalar_type() == torch::kFloat32, "AdamW keeps float32 parameters");
    state_.push_back(State{torch::zeros_like(p), torch::zeros_like(p),
                           torch::zeros({}, p.options().dtype(torch::kFloat32))});
  }
}

void AdamW::Step(double lr) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const torch::Tensor& p = parameters_[i];
    if (!p.grad().defined()) continue;
    params.push_back(p);
    grads.push_back(p.grad());
    exp_avgs.push_back(state_[i].exp_avg);
    exp_avg_sqs.push_back(state_[i].exp_avg_sq);
    steps.push_back(state_[i].step);
  }
  if (params.empty()) return;
  // The kernel counts the steps itself, as torch.optim.AdamW does before calling it.
  torch::_foreach_add_(steps, 1);
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, lr,
                    options_.beta1, options_.beta2, options_.weight_decay, options_.eps,
                    /*amsgrad=*/false, /*maximize=*/false);
}

void AdamW::ZeroGrad() {
  for (torch::Tensor& p : parameters_) p.mutable_grad().reset();
}

}  // namespace star
