#include "model/generation.h"

#include <algorithm>
#include <numeric>

#include <ATen/detail/CUDAHooksInterface.h>

namespace star {

torch::Tensor SampleNextTokens(const torch::Tensor& logits, const SamplingOptions& options,
                               at::Generator& generator) {
  if (options.temperature <= 0.0) return logits.argmax(-1);
  torch::Tensor scores = logits.to(torch::kFloat32) / options.temperature;
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (options.top_k > 0 && options.top_k < scores.size(-1)) {
    torch::Tensor kth = std::get<0>(scores.topk(options.top_k, -1)).narrow(-1, options.top_k - 1, 1);
    scores = scores.masked_fill(scores < kth, neg_inf);
  }
  if (options.top_p < 1.0) {
    auto [sorted, order] = scores.sort(-1, /*descending=*/true);
    torch::Tensor probs = sorted.softmax(-1);
    // Drop a token when the tokens ranked above it already reach top_p (the first always stays).
    torch::Tensor drop_sorted = (probs.cumsum(-1) - probs) >= options.top_p;
    torch::Tensor drop = torch::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
    scores = scores.masked_fill(drop, neg_inf);
  }
  return at::multinomial(scores.softmax(-1), 1, /*replacement=*/false, generator).squeeze(-1);
}

namespace {

// State of one prompt while it is decoded.
struct Row {
  size_t prompt_index;
  bool finished = false;
};

// Text of generated tokens with special tokens left out. Ids the tokenizer does not know (a
// model's vocabulary is often padded beyond the tokenizer's) are dropped, as `tokenizers`
// drops them.
std::string DecodeGenerated(const Tokenizer& tokenizer, const std::vector<int32_t>& tokens) {
  std::vector<int32_t> known;
  known.reserve(tokens.size());
  for (int32_t t : tokens) {
    if (t >= 0 && t < tokenizer.vocab_size()) known.push_back(t);
  }
  absl::StatusOr<std::string> text = tokenizer.Decode(known, /*skip_special_tokens=*/true);
  return text.ok() ? *std::move(text) : std::string();
}

bool EndsSequence(Completion& completion, int32_t token, const Tokenizer& tokenizer,
                  const SamplingOptions& options) {
  completion.tokens.push_back(token);
  if (std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), token) !=
      options.eos_token_ids.end()) {
    completion.finish_reason = FinishReason::kEos;
    return true;
  }
  if (!options.stop_strings.empty()) {
    std::string text = DecodeGenerated(tokenizer, completion.tokens);
    for (const std::string& stop : options.stop_strings) {
      if (!stop.empty() && text.find(stop) != std::string::npos) {
        completion.finish_reason = FinishReason::kStopString;
        return true;
      }
    }
  }
  if (static_cast<int64_t>(completion.tokens.size()) >= options.max_new_tokens) {
    completion.finish_reason = FinishReason::kLength;
    return true;
  }
  return false;
}

// How many decode steps run between two looks at the sampled tokens on the host. On the CPU the
// look is free; on CUDA it is a synchronisation, so the device runs ahead for a few tokens and
// rows that finished meanwhile decode a few tokens too many (which are dropped).
int64_t CheckInterval(const SamplingOptions& options, const torch::Device& device) {
  if (options.check_interval > 0) return options.check_interval;
  return device.is_cuda() ? 8 : 1;
}

// Decodes prompts[order[first]], ..., prompts[order[first + count - 1]] together.
void GenerateOneBatch(LlamaModel& model, const Tokenizer& tokenizer,
                      const std::vector<std::vector<int32_t>>& prompts,
                      const std::vector<size_t>& order, size_t first, size_t count,
                      const SamplingOptions& options, at::Generator& generator,
                      std::vector<Completion>& out) {
  const torch::Device device = model.device();
  int64_t batch = static_cast<int64_t>(count);
  int64_t prompt_len = 0;
  for (size_t i = 0; i < count; ++i) {
    prompt_len = std::max<int64_t>(prompt_len, static_cast<int64_t>(prompts[order[first + i]].size()));
  }
  const int64_t max_len = prompt_len + options.max_new_tokens;
  // Left-padded prompts; padding positions hold token 0 and are masked out. Built on the host,
  // then moved to the model's device once.
  torch::Tensor ids = torch::zeros({batch, prompt_len}, torch::kInt64);
  torch::Tensor valid = torch::zeros({batch, max_len}, torch::kBool);
  auto ids_at = ids.accessor<int64_t, 2>();
  auto valid_at = valid.accessor<bool, 2>();
  for (size_t i = 0; i < count; ++i) {
    const std::vector<int32_t>& p = prompts[order[first + i]];
    int64_t pad = prompt_len - static_cast<int64_t>(p.size());
    for (size_t t = 0; t < p.size(); ++t) {
      ids_at[static_cast<int64_t>(i)][pad + static_cast<int64_t>(t)] = p[t];
      valid_at[static_cast<int64_t>(i)][pad + static_cast<int64_t>(t)] = true;
    }
  }
  ids = ids.to(device);
  valid = valid.to(device);
  torch::Tensor positions =
      (valid.narrow(1, 0, prompt_len).to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
  torch::Tensor next_position = valid.narrow(1, 0, prompt_len).sum(1).to(torch::kInt64);

  std::vector<Row> rows;
  for (size_t i = 0; i < count; ++i) rows.push_back(Row{order[first + i]});
  std::unique_ptr<KvCache> cache;
  torch::Tensor all_ids = ids;  // only kept without a cache
  torch::Tensor logits;
  if (options.use_kv_cache) {
    cache = std::make_unique<KvCache>(model.config(), batch, max_len, model.dtype(), device);
    logits = model.Forward(ids, positions, valid.narrow(1, 0, prompt_len), cache.get(), true);
  } else {
    logits = model.Forward(ids, positions, valid.narrow(1, 0, prompt_len), nullptr, true);
  }
  torch::Tensor all_positions = positions;
  const int64_t check_interval = CheckInterval(options, device);
  std::vector<torch::Tensor> unchecked;  // sampled [rows] tokens the host has not looked at
  int64_t active = batch;
  for (int64_t step = 1;; ++step) {  // `step` tokens per row once this iteration has sampled
    torch::Tensor next = SampleNextTokens(logits.select(1, 0), options, generator);
    unchecked.push_back(next);
    const bool last = step == options.max_new_tokens;
    if (last || static_cast<int64_t>(unchecked.size()) >= check_interval) {
      torch::Tensor chunk = torch::stack(unchecked, 1).to(torch::kCPU).to(torch::kInt64).contiguous();
      unchecked.clear();
      auto tokens = chunk.accessor<int64_t, 2>();
      int64_t finished_rows = 0;
      for (size_t r = 0; r < rows.size(); ++r) {
        for (int64_t j = 0; j < chunk.size(1) && !rows[r].finished; ++j) {
          rows[r].finished = EndsSequence(out[rows[r].prompt_index],
                                          static_cast<int32_t>(tokens[static_cast<int64_t>(r)][j]),
                                          tokenizer, options);
          if (rows[r].finished) --active;
        }
        if (rows[r].finished) ++finished_rows;
      }
      if (active == 0 || last) break;
      if (finished_rows * 4 >= static_cast<int64_t>(rows.size())) {
        std::vector<int64_t> keep;
        std::vector<Row> kept;
        for (size_t r = 0; r < rows.size(); ++r) {
          if (!rows[r].finished) {
            keep.push_back(static_cast<int64_t>(r));
            kept.push_back(rows[r]);
          }
        }
        torch::Tensor keep_index = torch::tensor(keep, torch::kInt64);
        torch::Tensor keep_on_device = keep_index.to(device);
        rows = std::move(kept);
        next = next.index_select(0, keep_on_device);
        valid = valid.index_select(0, keep_on_device);
        next_position = next_position.index_select(0, keep_on_device);
        if (cache) {
          cache->SelectRows(keep_index);
        } else {
          all_ids = all_ids.index_select(0, keep_on_device);
          all_positions = all_positions.index_select(0, keep_on_device);
        }
      }
    }
    const int64_t filled = prompt_len + step - 1;  // positions already in the cache
    valid.select(1, filled).fill_(true);
    torch::Tensor step_ids = next.to(torch::kInt64).view({-1, 1});
    torch::Tensor step_positions = next_position.view({-1, 1});
    if (cache) {
      logits = model.Forward(step_ids, step_positions, valid.narrow(1, 0, filled + 1),
                             cache.get(), true);
    } else {
      all_ids = torch::cat({all_ids, step_ids}, 1);
      all_positions = torch::cat({all_positions, step_positions}, 1);
      logits = model.Forward(all_ids, all_positions, valid.narrow(1, 0, filled + 1), nullptr,
                             true);
    }
    next_position = next_position + 1;
  }
}

// A generator on `device` seeded with `seed`: sampling draws where the logits are.
at::Generator MakeGenerator(const torch::Device& device, uint64_t seed) {
  if (!device.is_cuda()) return at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Generator generator = at::detail::getCUDAHooks().getNewGenerator(device.index());
  generator.set_current_seed(seed);
  return generator;
}

}  // namespace

std::vector<Completion> GenerateBatched(LlamaModel& model, const Tokenizer& tokenizer,
                                        const std::vector<std::vector<int32_t>>& prompts,
                                        const SamplingOptions& options) {
  c10::InferenceMode inference;
  std::vector<Completion> out(prompts.size());
  at::Generator generator = MakeGenerator(model.device(), options.seed);
  const size_t batch_size = static_cast<size_t>(std::max<int64_t>(1, options.batch_size));
  for (const auto& p : prompts) TORCH_CHECK(!p.empty(), "empty prompt");
  if (options.max_new_tokens <= 0) return out;
  // Batches of prompts of similar length: less padding to compute over.
  std::vector<size_t> order(prompts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return prompts[a].size() < prompts[b].size(); });
  for (size_t first = 0; first < prompts.size(); first += batch_size) {
    size_t count = std::min(batch_size, prompts.size() - first);
    GenerateOneBatch(model, tokenizer, prompts, order, first, count, options, generator, out);
  }
  for (Completion& c : out) {
    c.text = DecodeGenerated(tokenizer, c.tokens);
    if (c.finish_reason == FinishReason::kStopString) {
      // Cut after the earliest stop string: nothing generated past it belongs to the answer.
      size_t end = std::string::npos;
      for (const std::string& stop : options.stop_strings) {
        size_t at = stop.empty() ? std::string::npos : c.text.find(stop);
        if (at != std::string::npos) end = std::min(end, at + stop.size());
      }
      if (end != std::string::npos) c.text.resize(end);
    }
  }
  return out;
}

}  // namespace star
