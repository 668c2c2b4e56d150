#include "model/llama_model.h"

#include <ATen/autocast_mode.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "files/bounded_read.h"
#include "files/excerpt.h"
#include "model/autocast_scope.h"
#include "model/safetensors.h"
#include "nlohmann/json.hpp"

namespace star {
namespace {

absl::StatusOr<torch::Dtype> TorchDtypeOf(TensorDtype dtype, absl::string_view where) {
  switch (dtype) {
    case TensorDtype::kF32:
      return torch::kFloat32;
    case TensorDtype::kF16:
      return torch::kFloat16;
    case TensorDtype::kBF16:
      return torch::kBFloat16;
    case TensorDtype::kF64:
      return torch::kFloat64;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": dtype ", TensorDtypeName(dtype), " is not a float type"));
  }
}

TensorDtype SafetensorsDtypeOf(torch::Dtype dtype) {
  if (dtype == torch::kBFloat16) return TensorDtype::kBF16;
  if (dtype == torch::kFloat16) return TensorDtype::kF16;
  if (dtype == torch::kFloat64) return TensorDtype::kF64;
  return TensorDtype::kF32;
}

std::string ShapeText(c10::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// The safetensors files of a model directory: one model.safetensors, or the shards listed in
// model.safetensors.index.json.
absl::StatusOr<std::vector<std::unique_ptr<SafetensorsFile>>> OpenWeightFiles(
    const std::string& dir) {
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::string single = absl::StrCat(dir, "/model.safetensors");
  std::string index = absl::StrCat(dir, "/model.safetensors.index.json");
  if (std::filesystem::exists(single)) {
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> f = SafetensorsFile::Open(single);
    if (!f.ok()) return f.status();
    files.push_back(std::move(*f));
    return files;
  }
  if (!std::filesystem::exists(index)) {
    return absl::NotFoundError(absl::StrCat(dir, ": neither model.safetensors nor "
                                                 "model.safetensors.index.json exists"));
  }
  // A real index is a few hundred kilobytes; 16 MiB is far beyond any.
  absl::StatusOr<std::string> text = ReadFileBounded(index, 16 << 20);
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") ||
      !j["weight_map"].is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(index, ": weight_map missing or not a map"));
  }
  std::set<std::string> shard_names;
  for (auto& [tensor, file] : j["weight_map"].items()) {
    if (!file.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(index, ": weight_map entry for '", Excerpt(tensor), "' is not a file name"));
    }
    std::string name = file.get<std::string>();
    if (name.find('/') != std::string::npos || name.empty() || name[0] == '.') {
      return absl::InvalidArgumentError(absl::StrCat(
          index, ": shard '", Excerpt(name), "' must be a file in the model directory"));
    }
    shard_names.insert(name);
  }
  for (const std::string& name : shard_names) {
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> f =
        SafetensorsFile::Open(absl::StrCat(dir, "/", name));
    if (!f.ok()) return f.status();
    files.push_back(std::move(*f));
  }
  return files;
}

}  // namespace

torch::Dtype ToTorchDtype(ModelDtype dtype) {
  switch (dtype) {
    case ModelDtype::kBFloat16:
      return torch::kBFloat16;
    case ModelDtype::kFloat16:
      return torch::kFloat16;
    case ModelDtype::kFloat32:
      return torch::kFloat32;
  }
  return torch::kFloat32;
}

KvCache::KvCache(const ModelConfig& config, int64_t batch, int64_t max_length,
                 torch::Dtype dtype, torch::Device device)
    : batch_(batch), max_length_(max_length) {
  auto options = torch::TensorOptions().dtype(dtype).device(device);
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    keys_.push_back(
        torch::empty({batch, config.num_key_value_heads, max_length, config.head_dim}, options));
    values_.push_back(torch::empty_like(keys_.back()));
  }
}

void KvCache::SelectRows(const torch::Tensor& rows) {
  torch::Tensor kept = rows.to(torch::kCPU).to(torch::kInt64).contiguous();
  const int64_t* index = kept.data_ptr<int64_t>();
  const int64_t n = kept.numel();
  for (int64_t i = 0; i < n; ++i) {
    TORCH_CHECK(index[i] >= i && index[i] < batch_ && (i == 0 || index[i] > index[i - 1]),
                "SelectRows needs ascending row indices below ", batch_);
  }
  // Two gathers per layer (not one copy per row): the live rows' filled positions are gathered
  // into a temporary and written back to the front of the allocation.
  torch::Tensor on_device = kept.to(keys_.empty() ? torch::kCPU : keys_[0].device());
  for (size_t l = 0; l < keys_.size(); ++l) {
    for (torch::Tensor* t : {&keys_[l], &values_[l]}) {
      torch::Tensor filled = t->narrow(2, 0, length_);
      filled.narrow(0, 0, n).copy_(filled.narrow(0, 0, batch_).index_select(0, on_device));
    }
  }
  batch_ = n;
}

torch::Device ToTorchDevice(const ComputeDevice& device) {
  return device.cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device.index))
                     : torch::Device(torch::kCPU);
}

std::optional<torch::Dtype> GenerationDtype(Precision precision, const ComputeDevice& device) {
  if (ComputesInBf16(precision, device)) return torch::kBFloat16;
  if (precision == Precision::kFloat32) return torch::kFloat32;
  return std::nullopt;
}

void LlamaModel::Allocate(torch::Dtype dtype, torch::Device device) {
  const ModelConfig& c = config_;
  auto options = torch::TensorOptions().dtype(dtype).device(device);
  named_.clear();
  leaves_.clear();
  auto leaf = [&](std::vector<int64_t> shape) {
    torch::Tensor t = torch::zeros(shape, options);
    leaves_.push_back(t);
    return t;
  };
  // A parameter that is a checkpoint tensor by itself.
  auto param = [&](std::string name, std::vector<int64_t> shape) {
    torch::Tensor t = leaf(std::move(shape));
    named_.emplace_back(std::move(name), t);
    return t;
  };
  // Rows [begin, begin + rows) of a fused parameter, named as a checkpoint tensor.
  auto view = [&](std::string name, const torch::Tensor& fused, int64_t begin, int64_t rows) {
    named_.emplace_back(std::move(name), fused.narrow(0, begin, rows));
  };
  const int64_t q_out = c.num_attention_heads * c.head_dim;
  const int64_t kv_out = c.num_key_value_heads * c.head_dim;
  embed_ = param("model.embed_tokens.weight", {c.vocab_size, c.hidden_size});
  layers_.clear();
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    std::string p = absl::StrCat("model.layers.", i, ".");
    Layer l;
    l.input_norm = param(p + "input_layernorm.weight", {c.hidden_size});
    l.qkv = leaf({q_out + 2 * kv_out, c.hidden_size});
    view(p + "self_attn.q_proj.weight", l.qkv, 0, q_out);
    view(p + "self_attn.k_proj.weight", l.qkv, q_out, kv_out);
    view(p + "self_attn.v_proj.weight", l.qkv, q_out + kv_out, kv_out);
    l.o = param(p + "self_attn.o_proj.weight", {c.hidden_size, q_out});
    if (c.qkv_bias) {
      l.qkv_bias = leaf({q_out + 2 * kv_out});
      view(p + "self_attn.q_proj.bias", l.qkv_bias, 0, q_out);
      view(p + "self_attn.k_proj.bias", l.qkv_bias, q_out, kv_out);
      view(p + "self_attn.v_proj.bias", l.qkv_bias, q_out + kv_out, kv_out);
    }
    if (c.o_bias) l.o_bias = param(p + "self_attn.o_proj.bias", {c.hidden_size});
    if (c.qk_norm) {
      l.q_norm = param(p + "self_attn.q_norm.weight", {c.head_dim});
      l.k_norm = param(p + "self_attn.k_norm.weight", {c.head_dim});
    }
    l.post_norm = param(p + "post_attention_layernorm.weight", {c.hidden_size});
    l.gate_up = leaf({2 * c.intermediate_size, c.hidden_size});
    view(p + "mlp.gate_proj.weight", l.gate_up, 0, c.intermediate_size);
    view(p + "mlp.up_proj.weight", l.gate_up, c.intermediate_size, c.intermediate_size);
    l.down = param(p + "mlp.down_proj.weight", {c.hidden_size, c.intermediate_size});
    layers_.push_back(std::move(l));
  }
  norm_ = param("model.norm.weight", {c.hidden_size});
  if (!c.tie_word_embeddings) {
    lm_head_ = param("lm_head.weight", {c.vocab_size, c.hidden_size});
  } else {
    lm_head_ = torch::Tensor();
  }
  inv_freq_ = 1.0 / torch::pow(c.rope_theta,
                               torch::arange(0, c.head_dim, 2, torch::kInt64).to(torch::kFloat32) /
                                   static_cast<double>(c.head_dim));
  inv_freq_ = inv_freq_.to(device);
  if (c.rope_scaling) {
    // Llama 3: long wavelengths slowed down by `factor`, short ones kept, those between blended
    // (transformers' _compute_llama3_parameters).
    const Llama3RopeScaling& r = *c.rope_scaling;
    const double old_context = static_cast<double>(r.original_max_position_embeddings);
    const double low_freq_wavelen = old_context / r.low_freq_factor;
    const double high_freq_wavelen = old_context / r.high_freq_factor;
    torch::Tensor wavelen = 2 * M_PI / inv_freq_;
    torch::Tensor scaled = torch::where(wavelen > low_freq_wavelen, inv_freq_ / r.factor, inv_freq_);
    torch::Tensor smooth = (old_context / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
    torch::Tensor smoothed = (1 - smooth) * scaled / r.factor + smooth * scaled;
    torch::Tensor medium = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen);
    inv_freq_ = torch::where(medium, smoothed, scaled);
  }
  // The named views share the leaves' storage; they are only written under NoGradGuard.
  for (torch::Tensor& t : leaves_) t.set_requires_grad(true);
}

torch::Dtype LlamaModel::dtype() const { return embed_.scalar_type(); }
torch::Device LlamaModel::device() const { return embed_.device(); }

std::unique_ptr<LlamaModel> LlamaModel::RandomInit(const ModelConfig& config, uint64_t seed) {
  std::unique_ptr<LlamaModel> model(new LlamaModel(config));
  model->Allocate(ToTorchDtype(config.dtype), torch::kCPU);
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& [name, t] : model->named_) {
    if (name.ends_with("norm.weight")) {
      t.fill_(1.0);
    } else if (name.ends_with(".bias")) {
      t.zero_();
    } else {
      torch::Tensor values = at::normal(0.0, 0.02, t.sizes(), gen, torch::kFloat32);
      t.copy_(values);
    }
  }
  return model;
}

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const std::string& dir,
                                                             std::optional<torch::Dtype> dtype,
                                                             torch::Device device) {
  absl::StatusOr<ModelConfig> config = ModelConfig::FromFile(absl::StrCat(dir, "/config.json"));
  if (!config.ok()) return config.status();
  absl::StatusOr<std::vector<std::unique_ptr<SafetensorsFile>>> files = OpenWeightFiles(dir);
  if (!files.ok()) return files.status();
  std::unique_ptr<LlamaModel> model(new LlamaModel(*config));
  model->Allocate(dtype.value_or(ToTorchDtype(config->dtype)), device);

  std::map<std::string, std::pair<const TensorView*, const SafetensorsFile*>> found;
  for (const auto& file : *files) {
    for (const TensorView& view : file->tensors()) {
      if (!found.emplace(view.name, std::make_pair(&view, file.get())).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            file->path(), ": tensor '", view.name, "' is also in ", found[view.name].second->path()));
      }
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, param] : model->named_) {
    auto it = found.find(name);
    if (it == found.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          dir, ": missing tensor '", name, "' (expected shape ", ShapeText(param.sizes()), ")"));
    }
    const auto [view, file] = it->second;
    if (c10::IntArrayRef(view->shape) != param.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file->path(), ": tensor '", name, "' has shape ", ShapeText(view->shape),
          ", expected ", ShapeText(param.sizes())));
    }
    absl::StatusOr<torch::Dtype> source_dtype =
        TorchDtypeOf(view->dtype, absl::StrCat(file->path(), ": tensor '", name, "'"));
    if (!source_dtype.ok()) return source_dtype.status();
    // The one copy: from the file mapping into the parameter (converting dtype on the way).
    torch::Tensor mapped = torch::from_blob(const_cast<std::byte*>(view->data), view->shape,
                                            torch::TensorOptions().dtype(*source_dtype));
    param.copy_(mapped);
    found.erase(it);
  }
  if (!found.empty()) {
    const auto& [name, where] = *found.begin();
    return absl::InvalidArgumentError(absl::StrCat(
        where.second->path(), ": unexpected tensor '", name, "' (not part of a ",
        model->config_.model_type, " model with this config", found.size() > 1
            ? absl::StrCat("; ", found.size() - 1, " more")
            : std::string(), ")"));
  }
  return model;
}

absl::Status LlamaModel::Save(const std::string& dir, std::optional<ModelDtype> as) const {
  const torch::Dtype written = as.has_value() ? ToTorchDtype(*as) : dtype();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot create: ", ec.message()));
  std::vector<torch::Tensor> keep;  // contiguous CPU copies alive during the write
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, t] : named_) {
    torch::Tensor c = t.detach().to(torch::kCPU, written).contiguous();
    keep.push_back(c);
    tensors.push_back(TensorToWrite{name, SafetensorsDtypeOf(c.scalar_type()),
                                    std::vector<int64_t>(c.sizes().begin(), c.sizes().end()),
                                    c.data_ptr(), static_cast<size_t>(c.nbytes())});
  }
  if (absl::Status s = WriteSafetensors(absl::StrCat(dir, "/model.safetensors"), tensors,
                                        {{"format", "pt"}});
      !s.ok()) {
    return s;
  }
  ModelConfig config = config_;
  if (written == torch::kBFloat16) config.dtype = ModelDtype::kBFloat16;
  if (written == torch::kFloat16) config.dtype = ModelDtype::kFloat16;
  if (written == torch::kFloat32) config.dtype = ModelDtype::kFloat32;
  std::string path = absl::StrCat(dir, "/config.json");
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << config.ToJson();
    if (!out.flush()) return absl::InternalError(absl::StrCat(tmp, ": write failed"));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat(path, ": ", ec.message()));
  return absl::OkStatus();
}

torch::Tensor LlamaModel::RmsNorm(const torch::Tensor& x, const torch::Tensor& weight) const {
  // As transformers: normalise in float32, cast back, then scale.
  torch::Tensor h = x.to(torch::kFloat32);
  torch::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(variance + config_.rms_norm_eps);
  return weight * h.to(x.scalar_type());
}

namespace {

torch::Tensor RotateHalf(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

torch::Tensor Linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return b.defined() ? torch::nn::functional::linear(x, w, b) : torch::nn::functional::linear(x, w);
}

}  // namespace

torch::Tensor LlamaModel::LayerForward(size_t i, const torch::Tensor& input,
                                       const LayerContext& context, KvCache* cache,
                                       int64_t past) const {
  const ModelConfig& c = config_;
  const Layer& l = layers_[i];
  const int64_t batch = input.size(0);
  const int64_t tokens = input.size(1);
  const int64_t total = past + tokens;
  const bool gqa = c.num_key_value_heads != c.num_attention_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  torch::Tensor h = RmsNorm(input, l.input_norm);
  torch::Tensor qkv = Linear(h, l.qkv, l.qkv_bias);
  const int64_t q_out = c.num_attention_heads * c.head_dim;
  const int64_t kv_out = c.num_key_value_heads * c.head_dim;
  torch::Tensor q = qkv.narrow(-1, 0, q_out)
                        .view({batch, tokens, c.num_attention_heads, c.head_dim})
                        .transpose(1, 2);
  torch::Tensor k = qkv.narrow(-1, q_out, kv_out)
                        .view({batch, tokens, c.num_key_value_heads, c.head_dim})
                        .transpose(1, 2);
  torch::Tensor v = qkv.narrow(-1, q_out + kv_out, kv_out)
                        .view({batch, tokens, c.num_key_value_heads, c.head_dim})
                        .transpose(1, 2);
  if (c.qk_norm) {
    q = RmsNorm(q, l.q_norm);
    k = RmsNorm(k, l.k_norm);
  }
  q = q * context.cos + RotateHalf(q) * context.sin;
  k = k * context.cos + RotateHalf(k) * context.sin;
  if (cache != nullptr) {
    torch::Tensor keys = cache->keys_[i].narrow(0, 0, batch);
    torch::Tensor values = cache->values_[i].narrow(0, 0, batch);
    keys.narrow(2, past, tokens).copy_(k);
    values.narrow(2, past, tokens).copy_(v);
    k = keys.narrow(2, 0, total);
    v = values.narrow(2, 0, total);
  }
  torch::Tensor attn = at::scaled_dot_product_attention(
      q, k, v, context.mask.defined() ? std::optional<at::Tensor>(context.mask) : std::nullopt,
      0.0, /*is_causal=*/context.causal_only, scale, gqa);
  attn = attn.transpose(1, 2).reshape({batch, tokens, c.num_attention_heads * c.head_dim});
  torch::Tensor x = input + Linear(attn, l.o, l.o_bias);
  h = RmsNorm(x, l.post_norm);
  torch::Tensor gate_up = torch::nn::functional::linear(h, l.gate_up);
  torch::Tensor mlp = torch::silu(gate_up.narrow(-1, 0, c.intermediate_size)) *
                      gate_up.narrow(-1, c.intermediate_size, c.intermediate_size);
  return x + torch::nn::functional::linear(mlp, l.down);
}

std::vector<torch::Tensor> LlamaModel::LayerLeaves(size_t i) const {
  const Layer& l = layers_[i];
  std::vector<torch::Tensor> leaves;
  for (const torch::Tensor& t : {l.input_norm, l.qkv, l.qkv_bias, l.o, l.o_bias, l.q_norm,
                                 l.k_norm, l.post_norm, l.gate_up, l.down}) {
    if (t.defined()) leaves.push_back(t);
  }
  return leaves;
}

torch::Tensor LlamaModel::CheckpointedLayer::forward(
    torch::autograd::AutogradContext* ctx, const torch::Tensor& x, at::TensorList leaves,
    int64_t model, int64_t index, const torch::Tensor& cos, const torch::Tensor& sin,
    const std::optional<torch::Tensor>& mask, bool causal_only) {
  ctx->save_for_backward({x, cos, sin, mask.value_or(torch::Tensor())});
  ctx->saved_data["model"] = model;
  ctx->saved_data["index"] = index;
  ctx->saved_data["causal_only"] = causal_only;
  // The backward pass recomputes under the autocast this pass ran under (it may run on another
  // thread, where none is set).
  ctx->saved_data["autocast"] = at::autocast::is_autocast_enabled(x.device().type());
  const auto* self = reinterpret_cast<const LlamaModel*>(model);
  return self->LayerForward(static_cast<size_t>(index), x,
                            LayerContext{cos, sin, mask.value_or(torch::Tensor()), causal_only},
                            nullptr, 0);
}

torch::autograd::variable_list LlamaModel::CheckpointedLayer::backward(
    torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad_outputs) {
  const torch::autograd::variable_list saved = ctx->get_saved_variables();
  const auto* self = reinterpret_cast<const LlamaModel*>(ctx->saved_data["model"].toInt());
  const size_t index = static_cast<size_t>(ctx->saved_data["index"].toInt());
  const std::vector<torch::Tensor> leaves = self->LayerLeaves(index);
  torch::Tensor x = saved[0].detach().requires_grad_(true);
  torch::Tensor y;
  {
    torch::AutoGradMode grad(true);
    AutocastScope autocast(x.device().type(), ctx->saved_data["autocast"].toBool());
    y = self->LayerForward(
        index, x,
        LayerContext{saved[1], saved[2], saved[3], ctx->saved_data["causal_only"].toBool()},
        nullptr, 0);
  }
  std::vector<torch::Tensor> inputs = {x};
  inputs.insert(inputs.end(), leaves.begin(), leaves.end());
  torch::autograd::variable_list grads = torch::autograd::grad(
      {y}, inputs, {grad_outputs[0]}, /*retain_graph=*/false, /*create_graph=*/false,
      /*allow_unused=*/true);
  // One gradient per argument of forward, in order: x, each leaf, then none for model, index,
  // cos, sin, mask and causal_only.
  torch::autograd::variable_list out(grads.begin(), grads.end());
  out.resize(out.size() + 6);
  return out;
}

torch::Tensor LlamaModel::Forward(const torch::Tensor& ids, const torch::Tensor& positions,
                                  const torch::Tensor& key_valid, KvCache* cache,
                                  bool last_only) {
  const int64_t batch = ids.size(0);
  const int64_t tokens = ids.size(1);
  const int64_t past = cache != nullptr ? cache->length_ : 0;
  const int64_t total = past + tokens;
  TORCH_CHECK(cache == nullptr || total <= cache->max_length_, "KV cache holds ",
              cache->max_length_, " positions; ", total, " needed");
  TORCH_CHECK(cache == nullptr || cache->batch_ == batch, "KV cache batch ", cache->batch_,
              " != ", batch);

  torch::Tensor x = torch::embedding(embed_, ids);
  const torch::Dtype dt = x.scalar_type();

  // Rotary tables [batch, 1, tokens, head_dim], computed in float32 as transformers does.
  torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq_;
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  torch::Tensor cos = emb.cos().to(dt).unsqueeze(1);
  torch::Tensor sin = emb.sin().to(dt).unsqueeze(1);

  // Attention mask [batch, 1, tokens, total]: causal, real keys only. A padding query would
  // see no key at all (and softmax would give NaN), so every query may see itself. A single
  // query (decoding) is the newest position: causality holds by itself and it is real.
  torch::Tensor mask;
  // Without padding and cache, causality is all the mask there is: SDPA applies it itself (and
  // may then pick the flash kernel, which takes no explicit mask).
  const bool causal_only = !key_valid.defined() && past == 0 && tokens > 1;
  bool need_mask = (key_valid.defined() || tokens > 1) && !causal_only;
  if (tokens == 1 && key_valid.defined()) {
    mask = key_valid.view({batch, 1, 1, total});
  } else if (need_mask) {
    const auto index_options = ids.options().dtype(torch::kInt64);
    torch::Tensor query_pos = torch::arange(past, total, index_options).unsqueeze(1);
    torch::Tensor key_pos = torch::arange(0, total, index_options).unsqueeze(0);
    mask = (key_pos <= query_pos).view({1, 1, tokens, total});
    if (key_valid.defined()) {
      mask = mask & key_valid.view({batch, 1, 1, total});
      mask = mask | (key_pos == query_pos).view({1, 1, tokens, total});
    }
  }
  const LayerContext context{cos, sin, need_mask ? mask : torch::Tensor(), causal_only};
  // Checkpointing only pays where autograd would keep the activations: training passes.
  const bool checkpoint =
      activation_checkpointing_ && cache == nullptr && torch::GradMode::is_enabled();
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (checkpoint) {
      // A TensorList (not a vector) so that autograd counts each leaf as an input.
      const std::vector<torch::Tensor> leaves = LayerLeaves(i);
      x = CheckpointedLayer::apply(
          x, at::TensorList(leaves), reinterpret_cast<int64_t>(this), static_cast<int64_t>(i),
          cos, sin,
          context.mask.defined() ? std::optional<torch::Tensor>(context.mask) : std::nullopt,
          causal_only);
    } else {
      x = LayerForward(i, x, context, cache, past);
    }
  }
  if (cache != nullptr) cache->length_ = total;
  if (last_only) x = x.narrow(1, tokens - 1, 1);
  x = RmsNorm(x, norm_);
  return torch::nn::functional::linear(x, lm_head_.defined() ? lm_head_ : embed_);
}

}  // namespace star
