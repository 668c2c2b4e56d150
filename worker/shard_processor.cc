#include "worker/shard_processor.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace star {

SamplingOptions SamplingFor(const star::v1::Shard& shard, const Task& task, uint64_t seed) {
  const star::v1::GenerationSpec& g = shard.generation();
  SamplingOptions o;
  o.max_new_tokens = g.max_new_tokens() > 0 ? g.max_new_tokens() : 128;
  o.batch_size = g.batch_size() > 0 ? g.batch_size() : 16;
  o.stop_strings = {task.StopString()};
  o.seed = seed;
  if (shard.kind() != star::v1::SHARD_KIND_EVALUATE) {
    o.temperature = g.temperature();
    o.top_k = g.top_k();
    o.top_p = g.top_p() > 0 ? g.top_p() : 1.0;
  }
  return o;
}

absl::StatusOr<ShardOutcome> ProcessShard(const star::v1::Shard& shard, const Task& task,
                                          bool rationalization, const CompletionSource& generate) {
  if (shard.questions().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("shard ", shard.shard_id(), " has no questions"));
  }
  const bool evaluate = shard.kind() == star::v1::SHARD_KIND_EVALUATE;
  if (!evaluate && shard.kind() != star::v1::SHARD_KIND_GENERATE &&
      shard.kind() != star::v1::SHARD_KIND_RATIONALIZE) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard ", shard.shard_id(), " has an unknown kind ", shard.kind()));
  }
  const bool hinted_only = shard.kind() == star::v1::SHARD_KIND_RATIONALIZE;
  const int samples = evaluate ? 1 : std::max<int>(1, shard.generation().samples_per_question());
  // A seed per shard keeps a shard's samples reproducible whichever worker leases it.
  const uint64_t seed = std::hash<std::string>{}(shard.shard_id());
  SamplingOptions options = SamplingFor(shard, task, seed);

  ShardOutcome outcome;
  outcome.request.set_shard_id(shard.shard_id());
  std::vector<star::v1::QuestionResult*> results;
  for (const star::v1::ShardQuestion& q : shard.questions()) {
    star::v1::QuestionResult* r = outcome.request.add_results();
    r->set_question_id(q.question_id());
    results.push_back(r);
  }
  // With add_greedy_sample, each question is first decoded greedily, then sampled.
  SamplingOptions greedy = options;
  greedy.temperature = 0;
  std::vector<std::pair<const SamplingOptions*, int>> passes;
  if (!evaluate && shard.generation().add_greedy_sample() && options.temperature > 0) {
    passes.push_back({&greedy, 1});
  }
  passes.push_back({&options, samples});
  auto run = [&](const std::vector<int>& which, bool hinted) -> absl::Status {
    for (const auto& [pass_options, count] : passes) {
      std::vector<std::string> prompts;
      for (int i : which) {
        const star::v1::ShardQuestion& q = shard.questions(i);
        for (int s = 0; s < count; ++s) prompts.push_back(hinted ? q.hinted_prompt() : q.prompt());
      }
      if (prompts.empty()) return absl::OkStatus();
      absl::StatusOr<std::vector<Completion>> out = generate(prompts, *pass_options);
      if (!out.ok()) return out.status();
      if (out->size() != prompts.size()) {
        return absl::InternalError(absl::StrCat("generator returned ", out->size(),
                                                " completions for ", prompts.size(), " prompts"));
      }
      size_t k = 0;
      for (int i : which) {
        for (int s = 0; s < count; ++s, ++k) {
          star::v1::Sample* sample = results[i]->add_samples();
          sample->set_completion((*out)[k].text);
          sample->set_rationalized(hinted);
          sample->set_generated_tokens(static_cast<uint32_t>((*out)[k].tokens.size()));
          outcome.generated_tokens += (*out)[k].tokens.size();
        }
      }
    }
    return absl::OkStatus();
  };
  auto answered = [&](int i) {
    Question q{.id = shard.questions(i).question_id(), .answer = shard.questions(i).gold_answer()};
    for (const star::v1::Sample& s : results[i]->samples()) {
      if (task.Verify(q, s.completion())) return true;
    }
    return false;
  };

  std::vector<int> all(shard.questions_size());
  for (int i = 0; i < shard.questions_size(); ++i) all[i] = i;
  if (absl::Status s = run(all, hinted_only); !s.ok()) return s;
  std::vector<int> wrong;
  for (int i : all) {
    if (answered(i)) {
      (hinted_only ? outcome.rationalized_correct : outcome.direct_correct)++;
    } else {
      wrong.push_back(i);
    }
  }
  if (!evaluate && !hinted_only && rationalization && !wrong.empty()) {
    for (int i : wrong) {
      if (shard.questions(i).hinted_prompt().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "shard ", shard.shard_id(), ": question ", shard.questions(i).question_id(),
            " has no hinted_prompt for rationalization"));
      }
    }
    // Only the hinted samples are added; the wrong direct ones stay (the coordinator rejects
    // them and counts them).
    if (absl::Status s = run(wrong, true); !s.ok()) return s;
    for (int i : wrong) {
      if (answered(i)) ++outcome.rationalized_correct;
    }
  }
  outcome.request.set_generated_tokens(outcome.generated_tokens);
  return outcome;
}

}  // namespace star
