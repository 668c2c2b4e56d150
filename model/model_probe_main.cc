// star-model-probe: exposes the decoder's raw outputs as JSON so that tests can compare them
// with the reference implementation (transformers). A development tool, not for operators.
//
//   star-model-probe logits MODEL_DIR '[[ids...], [ids...]]'      per-row logits of real tokens
//   star-model-probe generate MODEL_DIR '[[ids...], ...]' N        greedy N new tokens per row
//   star-model-probe init CONFIG_JSON OUT_DIR SEED                 random checkpoint, no tokenizer

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "model/generation.h"
#include "model/llama_model.h"
#include "nlohmann/json.hpp"

namespace star {
namespace {

int Usage() {
  std::fputs(
      "usage: star-model-probe logits MODEL_DIR ROWS_JSON\n"
      "       star-model-probe generate MODEL_DIR ROWS_JSON MAX_NEW_TOKENS\n"
      "       star-model-probe init CONFIG_JSON OUT_DIR SEED\n",
      stderr);
  return 2;
}

std::vector<std::vector<int64_t>> ParseRows(const std::string& text) {
  return nlohmann::json::parse(text).get<std::vector<std::vector<int64_t>>>();
}

// Logits for rows of different lengths, computed together in one left-padded batch.
nlohmann::json Logits(LlamaModel& model, const std::vector<std::vector<int64_t>>& rows) {
  int64_t len = 0;
  for (const auto& r : rows) len = std::max<int64_t>(len, r.size());
  int64_t b = static_cast<int64_t>(rows.size());
  torch::Tensor ids = torch::zeros({b, len}, torch::kInt64);
  torch::Tensor positions = torch::zeros({b, len}, torch::kInt64);
  torch::Tensor valid = torch::zeros({b, len}, torch::kBool);
  for (int64_t i = 0; i < b; ++i) {
    int64_t pad = len - static_cast<int64_t>(rows[i].size());
    for (size_t t = 0; t < rows[i].size(); ++t) {
      ids[i][pad + t] = rows[i][t];
      positions[i][pad + t] = static_cast<int64_t>(t);
      valid[i][pad + t] = true;
    }
  }
  torch::NoGradGuard no_grad;
  torch::Tensor logits = model.Forward(ids, positions, valid, nullptr).to(torch::kFloat32);
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < b; ++i) {
    int64_t pad = len - static_cast<int64_t>(rows[i].size());
    torch::Tensor row = logits[i].narrow(0, pad, len - pad).contiguous();
    std::vector<float> flat(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    nlohmann::json matrix = nlohmann::json::array();
    for (int64_t t = 0; t < row.size(0); ++t) {
      matrix.push_back(std::vector<float>(flat.begin() + t * row.size(1),
                                          flat.begin() + (t + 1) * row.size(1)));
    }
    out.push_back(std::move(matrix));
  }
  return out;
}

int Run(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string command = argv[1];
  if (command == "logits" && argc == 4) {
    auto model = LlamaModel::Load(argv[2]);
    if (!model.ok()) {
      std::cerr << model.status() << "\n";
      return 1;
    }
    std::cout << Logits(**model, ParseRows(argv[3])).dump() << "\n";
    return 0;
  }
  if (command == "generate" && argc == 5) {
    auto model = LlamaModel::Load(argv[2]);
    if (!model.ok()) {
      std::cerr << model.status() << "\n";
      return 1;
    }
    std::vector<std::vector<int32_t>> prompts;
    for (const auto& r : ParseRows(argv[3])) prompts.emplace_back(r.begin(), r.end());
    SamplingOptions options;
    options.max_new_tokens = std::stoll(argv[4]);
    options.batch_size = static_cast<int64_t>(prompts.size());
    // No tokenizer is needed without stop strings; an empty one decodes nothing.
    absl::StatusOr<Tokenizer> empty = Tokenizer::FromJson(
        R"({"model":{"type":"BPE","vocab":{},"merges":[]},"added_tokens":[],"normalizer":null,)"
        R"("pre_tokenizer":null,"post_processor":null,"decoder":null})",
        "empty");
    if (!empty.ok()) {
      std::cerr << empty.status() << "\n";
      return 1;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const Completion& c : GenerateBatched(**model, *empty, prompts, options)) {
      out.push_back(c.tokens);
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  if (command == "init" && argc == 5) {
    auto config = ModelConfig::FromFile(argv[2]);
    if (!config.ok()) {
      std::cerr << config.status() << "\n";
      return 1;
    }
    auto model = LlamaModel::RandomInit(*config, std::stoull(argv[4]));
    if (absl::Status s = model->Save(argv[3]); !s.ok()) {
      std::cerr << s << "\n";
      return 1;
    }
    return 0;
  }
  return Usage();
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) {
  try {
    return star::Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "star-model-probe: " << e.what() << "\n";
    return 1;
  }
}
