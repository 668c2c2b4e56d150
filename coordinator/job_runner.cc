#include "coordinator/job_runner.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/iteration_schedule.h"
#include "coordinator/job_config.h"
#include "coordinator/kept_set.h"
#include "coordinator/shard_pass.h"
#include "coordinator/training_round.h"
#include "log/log.h"
#include "model/model_config.h"
#include "model/text_generator.h"
#include "model/tokenizer.h"
#include "tasks/task_suite.h"

namespace star {
namespace {

int64_t NowMillis() { return absl::ToUnixMillis(absl::Now()); }

star::v1::ShardQuestion ToShardQuestion(const TaskSuite& suite, const Question& q) {
  star::v1::ShardQuestion sq;
  sq.set_question_id(q.id);
  sq.set_prompt(suite.GenerationPrompt(q));
  sq.set_hinted_prompt(suite.HintedGenerationPrompt(q));
  sq.set_bucket(q.bucket);
  sq.set_gold_answer(q.answer);
  return sq;
}

}  // namespace

absl::Status CheckPromptsFit(const std::string& config_path, const std::string& tokenizer_path,
                             const std::vector<const std::string*>& prompts, uint32_t max_new_tokens) {
  absl::StatusOr<ModelConfig> config = ModelConfig::FromFile(config_path);
  if (!config.ok()) return config.status();
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile(tokenizer_path);
  if (!tokenizer.ok()) return tokenizer.status();
  size_t longest = 0;
  for (const std::string* prompt : prompts) {
    longest = std::max(longest, tokenizer->Encode(*prompt, /*add_special_tokens=*/true).size());
  }
  const int64_t needed = static_cast<int64_t>(longest) + max_new_tokens;
  if (needed > config->max_position_embeddings) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "generation.max_new_tokens %d plus the longest prompt (%d tokens, few-shot exemplars "
        "included) exceeds the model's max_position_embeddings %d (%s)",
        max_new_tokens, longest, config->max_position_embeddings, config_path));
  }
  return absl::OkStatus();
}

absl::Status JobRunner::CheckContextLength(const std::string& model_dir,
                                           const std::vector<star::v1::ShardQuestion>& pool) const {
  std::vector<const std::string*> prompts;
  for (const auto* questions : {&pool, &eval_questions_}) {
    for (const star::v1::ShardQuestion& q : *questions) {
      prompts.push_back(&q.prompt());
      prompts.push_back(&q.hinted_prompt());
    }
  }
  return CheckPromptsFit(absl::StrCat(model_dir, "/config.json"),
                         absl::StrCat(model_dir, "/tokenizer.json"), prompts,
                         spec_.generation().max_new_tokens());
}

absl::Status JobRunner::WriteKeptSet(uint32_t iteration, const std::vector<nlohmann::json>& kept) {
  const std::string dir = absl::StrCat(options_.job_dir, "/iterations/", iteration);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": ", ec.message()));
  const std::string path = absl::StrCat(dir, "/train.jsonl");
  const std::string temp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temp, std::ios::trunc);
    for (const nlohmann::json& line : kept) out << line.dump() << '\n';
    if (!out.flush()) return absl::InternalError(absl::StrCat(temp, ": write failed"));
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat(path, ": ", ec.message()));
  return absl::OkStatus();
}

JobRunner::JobRunner(Coordinator* coordinator, std::string job_id, star::v1::JobSpec spec,
                     JobRunnerOptions options)
    : coordinator_(coordinator),
      job_id_(std::move(job_id)),
      spec_(std::move(spec)),
      options_(std::move(options)) {
  status_.set_job_id(job_id_);
  *status_.mutable_spec() = spec_;
  status_.set_state(star::v1::JOB_STATE_PENDING);
  status_.set_created_unix_ms(NowMillis());
  status_.set_updated_unix_ms(NowMillis());
}

JobRunner::JobRunner(Coordinator* coordinator, star::v1::JobStatus stored, JobRunnerOptions options)
    : coordinator_(coordinator),
      job_id_(stored.job_id()),
      spec_(stored.spec()),
      options_(std::move(options)),
      status_(std::move(stored)) {}

JobRunner::~JobRunner() {
  Interrupt();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::Start() {
  thread_ = std::thread([this] {
    MutateDurable([](star::v1::JobStatus& s) {
      s.set_state(star::v1::JOB_STATE_RUNNING);
      s.clear_error();
    });
    absl::Status result = RunJob();
    const bool was_cancelled = cancelled();  // Mutate holds mu_
    if (!result.ok() && interrupted()) {
      // The coordinator is shutting down: the job is not over; a restarted coordinator resumes
      // it from the store, so its stored state stays RUNNING.
      STAR_LOG(INFO) << "job " << job_id_ << " interrupted by shutdown; it resumes on restart";
      return;
    }
    MutateDurable([&](star::v1::JobStatus& s) {
      s.set_phase(star::v1::PHASE_DONE);
      if (result.ok()) {
        s.set_state(star::v1::JOB_STATE_SUCCEEDED);
      } else if (was_cancelled) {
        s.set_state(star::v1::JOB_STATE_CANCELLED);
      } else {
        s.set_state(star::v1::JOB_STATE_FAILED);
        s.set_error(std::string(result.message()));
      }
    });
    if (!result.ok()) STAR_LOG(ERROR) << "job " << job_id_ << ": " << result.message();
    STAR_LOG(INFO) << "job " << job_id_ << " ended";
  });
}

void JobRunner::Cancel() {
  absl::MutexLock lock(&mu_);
  cancel_ = true;
  changed_.SignalAll();
}

void JobRunner::Interrupt() {
  absl::MutexLock lock(&mu_);
  cancel_ = true;
  interrupted_ = true;
  changed_.SignalAll();
}

bool JobRunner::interrupted() const {
  absl::MutexLock lock(&mu_);
  return interrupted_;
}

bool JobRunner::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancel_;
}

template <typename Update>
void JobRunner::Mutate(Update&& update) {
  absl::MutexLock lock(&mu_);
  update(status_);
  status_.set_updated_unix_ms(NowMillis());
  ++version_;
  changed_.SignalAll();
}

template <typename Update>
void JobRunner::MutateDurable(Update&& update) {
  Mutate(std::forward<Update>(update));
  if (absl::Status s = coordinator_->store().PutJob(Status()); !s.ok()) {
    STAR_LOG(ERROR) << "job " << job_id_ << ": " << s.message();
  }
}

absl::Status JobRunner::PutMark(const std::string& key, const std::string& value) {
  return coordinator_->store().PutMark(job_id_, key, value);
}

absl::StatusOr<std::optional<std::string>> JobRunner::GetMark(const std::string& key) const {
  return coordinator_->store().GetMark(job_id_, key);
}

star::v1::JobStatus JobRunner::Status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

bool JobRunner::Finished() const {
  absl::MutexLock lock(&mu_);
  return status_.state() == star::v1::JOB_STATE_SUCCEEDED ||
         status_.state() == star::v1::JOB_STATE_FAILED ||
         status_.state() == star::v1::JOB_STATE_CANCELLED;
}

std::pair<star::v1::JobStatus, uint64_t> JobRunner::WaitForChange(uint64_t seen_version,
                                                                  absl::Duration wait) const {
  absl::Time deadline = absl::Now() + wait;
  absl::MutexLock lock(&mu_);
  while (version_ <= seen_version && !changed_.WaitWithDeadline(&mu_, deadline)) {
  }
  return {status_, version_};
}

absl::Status JobRunner::RunPass(star::v1::ShardKind kind, uint32_t iteration,
                                const std::vector<star::v1::ShardQuestion>& questions,
                                const std::string& checkpoint_id, const std::string& checkpoint) {
  ShardPass pass;
  pass.job_id = job_id_;
  pass.iteration = iteration;
  pass.kind = kind;
  pass.checkpoint_id = checkpoint_id;
  pass.checkpoint = checkpoint;
  pass.questions = &questions;
  pass.generation = spec_.generation();
  pass.task = spec_.task();
  pass.compute = spec_.compute();
  pass.rationalize = kind == star::v1::SHARD_KIND_GENERATE && spec_.filter().rationalization();
  pass.shard_size = spec_.shard_size();
  return RunShardPass(
      *coordinator_, pass, [this] { return cancelled(); },
      [this](uint32_t done, uint32_t total, double tokens_per_second) {
        Mutate([&](star::v1::JobStatus& s) {
          s.set_shards_done(done);
          s.set_shards_total(total);
          s.set_generate_tokens_per_second(tokens_per_second);
        });
      });
}

absl::StatusOr<RoundProgress> JobRunner::RunRound(uint32_t iteration, const std::string& base,
                                                  const std::string& output, uint32_t steps,
                                                  std::vector<star::v1::TrainingExample> examples) {
  TrainingRound round;
  round.job_id = job_id_;
  round.iteration = iteration;
  round.base_checkpoint = base;
  round.output_checkpoint = output;
  round.steps = steps;
  round.seed = spec_.seed() * 7919 + iteration;
  round.training = spec_.training();
  round.compute = spec_.compute();
  round.examples = std::move(examples);
  round.timeout = options_.round_timeout;
  round.attempts = options_.round_attempts;
  round.collective_timeout_ms = options_.collective_timeout_ms;
  round.settle = options_.round_settle;
  return RunTrainingRound(
      *coordinator_, round, [this] { return cancelled(); },
      [this, steps](uint32_t step, double loss, double tokens_per_second) {
        Mutate([&](star::v1::JobStatus& s) {
          s.set_train_step(step);
          s.set_train_steps(steps);
          s.set_train_loss(loss);
          s.set_train_tokens_per_second(tokens_per_second);
        });
      });
}

absl::Status JobRunner::Evaluate(uint32_t iteration, const std::string& checkpoint_id,
                                 const std::string& checkpoint, star::v1::IterationResult& result) {
  MutateDurable([](star::v1::JobStatus& s) { s.set_phase(star::v1::PHASE_EVALUATE); });
  absl::Time start = absl::Now();
  if (absl::Status s = RunPass(star::v1::SHARD_KIND_EVALUATE, iteration, eval_questions_,
                               checkpoint_id, checkpoint);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::map<std::string, BucketCount>> counts =
      coordinator_->store().Accuracy(job_id_, iteration);
  if (!counts.ok()) return counts.status();
  std::map<std::string, uint32_t> asked;
  for (const auto& q : eval_questions_) ++asked[q.bucket()];
  for (const auto& [bucket, total] : asked) {
    star::v1::BucketAccuracy* b = result.add_accuracy();
    b->set_bucket(bucket);
    b->set_total(total);
    b->set_correct(counts->contains(bucket) ? (*counts)[bucket].correct : 0);
  }
  result.set_evaluate_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  return absl::OkStatus();
}

absl::Status JobRunner::RunJob() {
  const std::string models = absl::StrCat(options_.job_dir, "/models");
  std::error_code ec;
  std::filesystem::create_directories(models, ec);
  if (ec) return absl::InternalError(absl::StrCat(models, ": ", ec.message()));

  absl::StatusOr<std::unique_ptr<TaskSuite>> suite = MakeTaskSuite(spec_);
  if (!suite.ok()) return suite.status();
  if (absl::Status s = (*suite)->Load(options_.job_dir); !s.ok()) return s;
  for (const Question& q : (*suite)->eval()) eval_questions_.push_back(ToShardQuestion(**suite, q));
  std::vector<star::v1::ShardQuestion> pool;
  // What a kept rationale is trained as the continuation of: the task's own prompt, without
  // few-shot exemplars and without the hint.
  std::vector<PoolQuestion> pool_questions;
  for (const Question& q : (*suite)->pool()) {
    pool.push_back(ToShardQuestion(**suite, q));
    pool_questions.push_back({.id = q.id, .bucket = q.bucket, .training_prompt = (*suite)->task().Prompt(q)});
  }

  // Results already in the status (a job resumed after a restart) are not redone.
  std::map<uint32_t, star::v1::IterationResult> finished;
  const star::v1::JobStatus stored = Status();
  for (const star::v1::IterationResult& r : stored.results()) finished[r.iteration()] = r;

  // M0.
  std::string m0 = spec_.model().base_checkpoint();
  if (!m0.empty()) {
    if (absl::Status s = CheckContextLength(m0, pool); !s.ok()) return s;
  } else {
    m0 = absl::StrCat(models, "/m0");
    const std::string init = absl::StrCat(models, "/init");
    absl::StatusOr<std::optional<std::string>> seeded = GetMark("seed");
    if (!seeded.ok()) return seeded.status();
    if (seeded->has_value()) {
      if (absl::Status s = CheckContextLength(init, pool); !s.ok()) return s;
    } else {
      MutateDurable([&](star::v1::JobStatus& s) {
        s.set_phase(star::v1::PHASE_SEED);
        s.set_train_steps(spec_.training().seed_steps());
      });
      if (absl::Status s = InitRandomModel(spec_.model().init_config(),
                                           spec_.model().init_tokenizer(), init,
                                           spec_.model().init_seed());
          !s.ok()) {
        return s;
      }
      if (absl::Status s = CheckContextLength(init, pool); !s.ok()) return s;
      absl::StatusOr<std::vector<SeedExample>> seeds = (*suite)->SeedExamples();
      if (!seeds.ok()) return seeds.status();
      std::vector<star::v1::TrainingExample> seed_examples;
      for (SeedExample& seed : *seeds) {
        star::v1::TrainingExample e;
        e.set_example_id(seed.id);
        e.set_prompt(std::move(seed.prompt));
        e.set_completion(std::move(seed.completion));
        seed_examples.push_back(std::move(e));
      }
      absl::StatusOr<RoundProgress> seed = RunRound(0, init, m0, spec_.training().seed_steps(),
                                                    std::move(seed_examples));
      if (!seed.ok()) return seed.status();
      if (absl::Status s = PutMark("seed", m0); !s.ok()) return s;
    }
  }
  if (!finished.contains(0)) {
    star::v1::IterationResult baseline;
    baseline.set_iteration(0);
    baseline.set_checkpoint(m0);
    if (absl::Status s = Evaluate(0, "m0", m0, baseline); !s.ok()) return s;
    MutateDurable([&](star::v1::JobStatus& s) { *s.add_results() = baseline; });
  }

  std::string previous = m0;
  std::string previous_id = "m0";
  PlateauRule plateau(spec_.plateau_patience(), spec_.plateau_min_gain());
  for (uint32_t n = 1; n <= spec_.iterations(); ++n) {
    if (auto it = finished.find(n); it != finished.end()) {
      previous = it->second.checkpoint();
      previous_id = previous == m0 ? "m0" : absl::StrCat("m", n);
      if (plateau.Stop(it->second)) break;
      continue;
    }
    star::v1::IterationResult result;
    result.set_iteration(n);
    MutateDurable([&](star::v1::JobStatus& s) {
      s.set_iteration(n);
      s.set_phase(star::v1::PHASE_GENERATE);
    });
    const std::string generated_key = absl::StrFormat("iteration/%d/generated", n);
    const std::string trained_key = absl::StrFormat("iteration/%d/trained", n);
    absl::StatusOr<std::optional<std::string>> trained = GetMark(trained_key);
    if (!trained.ok()) return trained.status();
    absl::StatusOr<std::optional<std::string>> generated = GetMark(generated_key);
    if (!generated.ok()) return generated.status();
    // A mark's value is the iteration's result as far as it got.
    if (const std::optional<std::string>& mark = trained->has_value() ? *trained : *generated;
        mark.has_value() && !result.ParseFromString(*mark)) {
      return absl::DataLossError(absl::StrFormat("job %s: the mark of iteration %d does not parse",
                                                 job_id_, n));
    }
    std::vector<star::v1::TrainingExample> examples;
    if (!generated->has_value()) {
      absl::Time start = absl::Now();
      if (absl::Status s = RunPass(star::v1::SHARD_KIND_GENERATE, n, pool, previous_id, previous);
          !s.ok()) {
        return s;
      }
      result.set_generate_seconds(absl::ToDoubleSeconds(absl::Now() - start));
    }
    if (!trained->has_value()) {
      result.set_questions_attempted(static_cast<uint32_t>(pool.size()));
      absl::StatusOr<std::vector<AcceptedRationale>> accepted =
          coordinator_->store().Accepted(job_id_, n);
      if (!accepted.ok()) return accepted.status();
      KeptSet kept = BuildKeptSet(*accepted, pool_questions, spec_.filter());
      result.set_accepted_direct(kept.accepted_direct);
      result.set_accepted_rationalized(kept.accepted_rationalized);
      result.set_rejected(kept.rejected);
      // A result read back from the "generated" mark (a resumed job) already has them.
      result.clear_kept();
      for (star::v1::BucketKept& b : kept.buckets) *result.add_kept() = std::move(b);
      examples = std::move(kept.examples);
      if (absl::Status s = WriteKeptSet(n, kept.log); !s.ok()) return s;
      if (!generated->has_value()) {
        if (absl::Status s = PutMark(generated_key, result.SerializeAsString()); !s.ok()) return s;
      }
    }
    const uint32_t world = std::max<uint32_t>(1, spec_.training().world_size());
    std::string current = absl::StrCat(models, "/m", n);
    std::string current_id = absl::StrCat("m", n);
    if (trained->has_value()) {
      current = result.checkpoint();
      current_id = current == m0 ? "m0" : current_id;
    } else if (examples.size() < world) {
      STAR_LOG(WARNING) << "job " << job_id_ << " iteration " << n << ": only " << examples.size()
                        << " rationales kept; the model stays M0";
      current = m0;
      current_id = "m0";
    } else {
      const uint32_t steps = StepsForIteration(spec_.training(), n);
      MutateDurable([&](star::v1::JobStatus& s) {
        s.set_phase(star::v1::PHASE_TRAIN);
        s.set_train_step(0);
        s.set_train_steps(steps);
      });
      absl::Time train_start = absl::Now();
      absl::StatusOr<RoundProgress> round = RunRound(n, m0, current, steps, std::move(examples));
      if (!round.ok()) return round.status();
      result.set_train_steps(steps);
      double loss = 0;
      for (const auto& r : round->reports) loss += r.final_loss();
      result.set_train_loss(loss / std::max<size_t>(1, round->reports.size()));
      result.set_train_seconds(absl::ToDoubleSeconds(absl::Now() - train_start));
    }
    result.set_checkpoint(current);
    if (!trained->has_value()) {
      if (absl::Status s = PutMark(trained_key, result.SerializeAsString()); !s.ok()) return s;
    }
    if (absl::Status s = Evaluate(n, current_id, current, result); !s.ok()) return s;
    MutateDurable([&](star::v1::JobStatus& s) { *s.add_results() = result; });
    previous = current;
    previous_id = current_id;
    if (plateau.Stop(result)) {
      STAR_LOG(INFO) << "job " << job_id_ << ": accuracy plateaued at iteration " << n;
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace star
