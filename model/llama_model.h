#ifndef STAR_MODEL_LLAMA_MODEL_H_
#define STAR_MODEL_LLAMA_MODEL_H_

// The Llama decoder as transformers defines it (LlamaForCausalLM; Qwen2ForCausalLM is the same
// with q/k/v biases): token embedding, N blocks of RMSNorm -> grouped-query attention with
// rotary position embedding (rotate-half convention) -> residual, RMSNorm -> SwiGLU MLP ->
// residual, a final RMSNorm and the LM head (tied to the embedding or not).
//
// The parameters are plain tensors that require grad so that trainers can optimise them. The
// q/k/v projections of a layer live in one tensor, and so do gate/up, so that each is one
// matrix multiplication; named_parameters() gives views of them under their Hugging Face names. Not thread-safe: one model per thread (generation and
// training mutate no model state, but libtorch autograd does).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "model/compute_device.h"
#include "model/model_config.h"

namespace star {

// Keys and values of every layer for a batch, allocated once for `max_length` positions.
// Positions [0, length()) are filled. Not thread-safe.
class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t batch, int64_t max_length, torch::Dtype dtype,
          torch::Device device);

  int64_t batch() const { return batch_; }
  int64_t length() const { return length_; }
  int64_t max_length() const { return max_length_; }

  // Keeps only the batch rows listed in `rows` (ascending int64 indices): finished sequences
  // stop costing compute. The kept rows' filled positions are gathered (a temporary per layer)
  // and written to the front of the allocation, which stays as it is.
  void SelectRows(const torch::Tensor& rows);

 private:
  friend class LlamaModel;
  int64_t batch_;
  int64_t max_length_;
  int64_t length_ = 0;
  // Per layer [allocated batch, kv_heads, max_length, head_dim]; rows [0, batch_) are live.
  std::vector<torch::Tensor> keys_;
  std::vector<torch::Tensor> values_;
};

class LlamaModel {
 public:
  // Loads a Hugging Face model directory: config.json and model.safetensors, or the shards
  // named by model.safetensors.index.json, onto `device`. Parameters are converted to `dtype`
  // (default: the config's). Errors name the file and tensor: a missing, unexpected or wrongly
  // shaped tensor, and every safetensors validation error.
  static absl::StatusOr<std::unique_ptr<LlamaModel>> Load(
      const std::string& dir, std::optional<torch::Dtype> dtype = std::nullopt,
      torch::Device device = torch::kCPU);

  // Random initialisation as transformers does it: normal(0, 0.02) weights, zero biases, unit
  // norms. Deterministic for a seed.
  static std::unique_ptr<LlamaModel> RandomInit(const ModelConfig& config, uint64_t seed);

  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  // Writes config.json and model.safetensors (HF names; the parameters' dtype, or `as`) into
  // `dir` (created). Files are replaced atomically.
  absl::Status Save(const std::string& dir, std::optional<ModelDtype> as = std::nullopt) const;

  // Logits [batch, tokens, vocab] for `ids` [batch, tokens] (int64) at `positions` (int64,
  // same shape; rotary positions, so left padding keeps real tokens at 0, 1, ...).
  // `key_valid` [batch, cached + tokens] (bool) marks real (non-padding) tokens; undefined
  // means all are real. Attention is causal. With `cache`, keys and values of these tokens are
  // appended to it and attention covers everything cached. With `last_only` the logits are
  // computed for the last position alone ([batch, 1, vocab]), as decoding needs.
  // Throws c10::Error on misuse.
  torch::Tensor Forward(const torch::Tensor& ids, const torch::Tensor& positions,
                        const torch::Tensor& key_valid, KvCache* cache, bool last_only = false);

  // With activation checkpointing, a forward pass that records gradients (a training pass) keeps
  // only each layer's input and runs the layer again during the backward pass: activation
  // memory falls from every intermediate of every layer to one hidden state per layer, for
  // about a third more compute. The gradients are the same. Off by default.
  void set_activation_checkpointing(bool enabled) { activation_checkpointing_ = enabled; }

  const ModelConfig& config() const { return config_; }
  torch::Dtype dtype() const;
  torch::Device device() const;

  // (HF name, tensor) for every tensor of a checkpoint, in a fixed order. Views into the
  // parameters: writing them writes the parameters.
  const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters() const {
    return named_;
  }
  // The leaf tensors an optimiser updates (fused q/k/v and gate/up included).
  const std::vector<torch::Tensor>& parameters() const { return leaves_; }

 private:
  struct Layer {
    torch::Tensor input_norm;
    torch::Tensor qkv;       // [q_out + 2 * kv_out, hidden]: q_proj, k_proj, v_proj stacked
    torch::Tensor qkv_bias;  // [q_out + 2 * kv_out] or undefined
    torch::Tensor o, o_bias;
    torch::Tensor q_norm, k_norm;  // qwen3: [head_dim] each, or undefined
    torch::Tensor post_norm;
    torch::Tensor gate_up;   // [2 * intermediate, hidden]: gate_proj, up_proj stacked
    torch::Tensor down;
  };

  // What every layer of one forward pass shares.
  struct LayerContext {
    torch::Tensor cos, sin;  // rotary tables [batch, 1, tokens, head_dim]
    torch::Tensor mask;      // [batch, 1, tokens, total] or undefined
    bool causal_only = false;  // no mask: SDPA applies causality itself
  };

  // Runs a layer as autograd's leaf-keeping function: only its input is saved, and backward()
  // runs the layer again (under the autocast of the forward pass) to differentiate it.
  class CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
   public:
    // `model` is the LlamaModel's address (autograd carries only tensors and plain values); it
    // outlives the backward pass.
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 at::TensorList leaves, int64_t model, int64_t index,
                                 const torch::Tensor& cos, const torch::Tensor& sin,
                                 const std::optional<torch::Tensor>& mask, bool causal_only);
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grad_outputs);
  };

  explicit LlamaModel(ModelConfig config) : config_(std::move(config)) {}
  // Layer `i` on `input` [batch, tokens, hidden]; with `cache`, appends this layer's keys and
  // values after position `past` and attends to everything cached.
  torch::Tensor LayerForward(size_t i, const torch::Tensor& input, const LayerContext& context,
                             KvCache* cache, int64_t past) const;
  // The leaf tensors layer `i` computes with (what its gradients are taken for).
  std::vector<torch::Tensor> LayerLeaves(size_t i) const;
  // Creates zeroed parameters of the right shapes on `device` and registers their names.
  void Allocate(torch::Dtype dtype, torch::Device device);
  torch::Tensor RmsNorm(const torch::Tensor& x, const torch::Tensor& weight) const;

  ModelConfig config_;
  torch::Tensor embed_;
  std::vector<Layer> layers_;
  torch::Tensor norm_;
  torch::Tensor lm_head_;  // undefined when tied to embed_
  torch::Tensor inv_freq_;  // rotary inverse frequencies, float32 [head_dim / 2]
  std::vector<std::pair<std::string, torch::Tensor>> named_;
  std::vector<torch::Tensor> leaves_;
  bool activation_checkpointing_ = false;
};

torch::Dtype ToTorchDtype(ModelDtype dtype);
torch::Device ToTorchDevice(const ComputeDevice& device);

// The dtype a model generates in for `precision` on `device`: bfloat16 for bf16 and for auto on
// CUDA, float32 for fp32; nullopt (the checkpoint's dtype) for auto on the CPU.
std::optional<torch::Dtype> GenerationDtype(Precision precision, const ComputeDevice& device);

}  // namespace star

#endif  // STAR_MODEL_LLAMA_MODEL_H_
