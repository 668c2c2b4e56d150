#include "trainer/round_runner.h"

#include <unistd.h>

#include <ATen/DeviceAccelerator.h>

#include "absl/strings/str_cat.h"
#include "model/model_config.h"
#include "model/tokenizer.h"
#include "proto/request_parsing.h"
#include "trainer/collective.h"
#include "trainer/round_trainer.h"

namespace star {
namespace {

star::v1::ReportRoundRequest Failed(const star::v1::RoundAssignment& a, const absl::Status& s) {
  star::v1::ReportRoundRequest r;
  r.set_round_id(a.round_id());
  r.set_rank(a.rank());
  r.set_ok(false);
  // At most 4000 bytes, cut at a character boundary: a string field must stay UTF-8, or the
  // coordinator cannot even parse the report.
  std::string error = std::string(s.ToString()).substr(0, 4000);
  error.resize(ValidUtf8Prefix(error));
  r.set_error(std::move(error));
  return r;
}

}  // namespace

void SetTrainerThreads(int threads) { at::set_num_threads(std::max(1, threads)); }

star::v1::ReportRoundRequest RunAssignedRound(
    const star::v1::RoundAssignment& a, const std::vector<star::v1::TrainingExample>& examples,
    const PathPolicy& data_roots, const ComputeDevice& device, int listener_fd,
    const std::function<void(const StepStats&)>& on_step,
    const std::function<bool()>& stop_requested) {
  if (a.rank() != 0 && listener_fd >= 0) ::close(listener_fd);
  absl::StatusOr<std::string> confined_base =
      data_roots.ConfineFolder("base_checkpoint", a.base_checkpoint());
  if (!confined_base.ok()) return Failed(a, confined_base.status());
  absl::StatusOr<std::string> output =
      data_roots.ConfineForWriting("output_checkpoint", a.output_checkpoint());
  if (!output.ok()) return Failed(a, output.status());
  const std::string base = *confined_base;
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile(absl::StrCat(base, "/tokenizer.json"));
  if (!tokenizer.ok()) return Failed(a, tokenizer.status());
  absl::StatusOr<ModelConfig> config = ModelConfig::FromFile(absl::StrCat(base, "/config.json"));
  if (!config.ok()) return Failed(a, config.status());
  std::vector<PromptCompletion> tokenized;
  for (const star::v1::TrainingExample& e : examples) {
    PromptCompletion pc;
    pc.prompt = tokenizer->Encode(e.prompt(), /*add_special_tokens=*/true);
    pc.completion = tokenizer->Encode(e.completion(), /*add_special_tokens=*/false);
    // The model learns to end its answer.
    if (!config->eos_token_ids.empty()) pc.completion.push_back(static_cast<int32_t>(config->eos_token_ids[0]));
    tokenized.push_back(std::move(pc));
  }
  CollectiveOptions collective_options;
  collective_options.backend = a.backend().empty() ? "gloo" : a.backend();
  absl::StatusOr<Precision> precision = ParsePrecision(a.compute().precision());
  if (!precision.ok()) return Failed(a, precision.status());
  ComputeDevice round_device;  // the CPU, for Gloo
  if (collective_options.backend == "nccl") {
    if (!device.cuda) {
      return Failed(a, absl::FailedPreconditionError(
                           "the round runs on nccl but this rank's --device is the CPU"));
    }
    round_device = device;
    // NCCL's communicator and its barrier use the current device.
    try {
      at::accelerator::setDeviceIndex(static_cast<c10::DeviceIndex>(device.index));
    } catch (const c10::Error& e) {
      return Failed(a, absl::InternalError(absl::StrCat(device.ToString(), ": ",
                                                        e.what_without_backtrace())));
    }
  }
  collective_options.master_addr = a.master_addr();
  collective_options.master_port = static_cast<int>(a.master_port());
  collective_options.master_listen_fd = a.rank() == 0 ? listener_fd : -1;
  collective_options.rank = static_cast<int>(a.rank());
  collective_options.world_size = static_cast<int>(a.world_size());
  if (a.collective_timeout_ms() > 0) {
    collective_options.timeout = absl::Milliseconds(a.collective_timeout_ms());
  }
  absl::StatusOr<std::unique_ptr<Collective>> collective = Collective::Create(collective_options);
  if (!collective.ok()) return Failed(a, collective.status());

  RoundOptions options;
  options.base_checkpoint = base;
  options.output_checkpoint = *output;
  options.steps = a.steps();
  options.learning_rate = a.training().learning_rate();
  options.warmup_steps = a.training().warmup_steps();
  options.linear_decay = a.training().linear_decay();
  options.activation_checkpointing = a.training().activation_checkpointing();
  options.grad_clip = a.training().grad_clip();
  options.weight_decay = a.training().weight_decay();
  options.global_batch_size = a.training().global_batch_size();
  options.seed = a.seed();
  options.max_length = config->max_position_embeddings;
  options.device = round_device;
  options.precision = *precision;
  options.step_observer = on_step;
  options.stop_requested = stop_requested;
  absl::StatusOr<RoundResult> result = RunTrainingRound(options, tokenized, **collective);
  if (!result.ok()) return Failed(a, result.status());
  star::v1::ReportRoundRequest r;
  r.set_round_id(a.round_id());
  r.set_rank(a.rank());
  r.set_ok(true);
  r.set_steps(static_cast<uint32_t>(result->steps));
  r.set_final_loss(result->final_loss);
  r.set_tokens_per_second(result->tokens_per_second);
  r.set_seconds(result->seconds);
  r.set_allreduce_seconds(result->allreduce_seconds);
  return r;
}

}  // namespace star
