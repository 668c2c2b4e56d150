#include "coordinator/job_runner.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/bucket_balance.h"
#include "coordinator/job_config.h"
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

absl::Status JobRunner::CheckContextLength(const std::string& model_dir,
                                           const std::vector<star::v1::ShardQuestion>& pool) const {
  absl::StatusOr<ModelConfig> config = ModelConfig::FromFile(absl::StrCat(model_dir, "/config.json"));
  if (!config.ok()) return config.status();
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile(absl::StrCat(model_dir, "/tokenizer.json"));
  if (!tokenizer.ok()) return tokenizer.status();
  size_t longest = 0;
  for (const auto* questions : {&pool, &eval_questions_}) {
    for (const star::v1::ShardQuestion& q : *questions) {
      for (const std::string* prompt : {&q.prompt(), &q.hinted_prompt()}) {
        size_t tokens = tokenizer->Encode(*prompt, /*add_special_tokens=*/true).size();
        longest = std::max(longest, tokens);
      }
    }
  }
  const int64_t needed = static_cast<int64_t>(longest) + spec_.generation().max_new_tokens();
  if (needed > config->max_position_embeddings) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "generation.max_new_tokens %d plus the longest prompt (%d tokens) exceeds the model's "
        "max_position_embeddings %d (%s/config.json)",
        spec_.generation().max_new_tokens(), longest, config->max_position_embeddings, model_dir));
  }
  return absl::OkStatus();
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

uint32_t StepsForIteration(const star::v1::TrainingSpec& t, uint32_t iteration) {
  double n = static_cast<double>(iteration) - 1;
  double steps = t.initial_steps() * std::pow(1.0 + t.growth_percent() / 100.0, n) +
                 t.step_increment() * n;
  return static_cast<uint32_t>(std::max(1.0, std::round(steps)));
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
  ShardQueue& queue = coordinator_->shards();
  queue.Clear();
  StateStore& store = coordinator_->store();
  // A pass that began before a restart goes on with the shards it recorded.
  absl::StatusOr<std::vector<StoredShard>> stored = store.ShardsOfPass(job_id_, iteration, kind);
  if (!stored.ok()) return stored.status();
  std::vector<star::v1::Shard> created;
  const size_t shard_size = std::max<uint32_t>(1, spec_.shard_size());
  for (size_t first = 0; stored->empty() && first < questions.size(); first += shard_size) {
    star::v1::Shard shard;
    shard.set_shard_id(absl::StrFormat("%s-i%d-%s-%d", job_id_, iteration,
                                       kind == star::v1::SHARD_KIND_EVALUATE ? "eval" : "gen",
                                       first / shard_size));
    shard.set_job_id(job_id_);
    shard.set_iteration(iteration);
    shard.set_kind(kind);
    shard.set_checkpoint_id(checkpoint_id);
    shard.set_checkpoint_path(checkpoint);
    *shard.mutable_generation() = spec_.generation();
    *shard.mutable_task() = spec_.task();
    shard.set_rationalize(kind == star::v1::SHARD_KIND_GENERATE && spec_.filter().rationalization());
    for (size_t i = first; i < std::min(questions.size(), first + shard_size); ++i) {
      *shard.add_questions() = questions[i];
    }
    created.push_back(std::move(shard));
  }
  if (!created.empty()) {
    if (absl::Status s = store.AddShards(created); !s.ok()) return s;
    for (star::v1::Shard& shard : created) stored->push_back(StoredShard{std::move(shard), false});
  }
  const uint32_t shards = static_cast<uint32_t>(stored->size());
  uint32_t resumed_done = 0;
  for (StoredShard& s : *stored) {
    resumed_done += s.done ? 1 : 0;
    if (absl::Status added = queue.Add(std::move(s.shard), s.done); !added.ok()) return added;
  }
  if (resumed_done > 0) {
    STAR_LOG(INFO) << "job " << job_id_ << ": resuming a pass with " << resumed_done << " of "
                   << shards << " shards done";
  }
  Mutate([&](star::v1::JobStatus& s) {
    s.set_shards_total(shards);
    s.set_shards_done(resumed_done);
  });
  const absl::Time start = absl::Now();
  const uint64_t tokens_before = coordinator_->generated_tokens();
  while (!queue.AllDone()) {
    if (cancelled()) return absl::CancelledError("cancelled");
    if (std::optional<std::string> failed = queue.FailedShard()) {
      return absl::AbortedError(absl::StrFormat(
          "shard %s was leased %d times and never completed: every worker that took it failed "
          "or died (see the workers' logs)",
          *failed, coordinator_->max_shard_leases()));
    }
    absl::SleepFor(absl::Milliseconds(200));
    uint32_t done = static_cast<uint32_t>(queue.Counts().done);
    const double rate = static_cast<double>(coordinator_->generated_tokens() - tokens_before) /
                        std::max(1e-3, absl::ToDoubleSeconds(absl::Now() - start));
    Mutate([&](star::v1::JobStatus& s) {
      s.set_shards_done(done);
      s.set_generate_tokens_per_second(rate);
    });
  }
  Mutate([&](star::v1::JobStatus& s) { s.set_shards_done(shards); });
  return absl::OkStatus();
}

absl::StatusOr<RoundProgress> JobRunner::RunRound(uint32_t iteration, const std::string& base,
                                                  const std::string& output, uint32_t steps,
                                                  std::vector<star::v1::TrainingExample> examples) {
  absl::Status last = absl::InternalError("no attempt");
  for (int attempt = 1; attempt <= options_.round_attempts; ++attempt) {
    RoundPlan plan;
    star::v1::RoundAssignment& a = plan.assignment;
    // The store's epoch keeps the ids of a restarted coordinator's rounds apart from those of
    // rounds its predecessor formed (whose ranks may still report).
    a.set_round_id(absl::StrFormat("%s-i%d-e%d-round%d", job_id_, iteration,
                                   coordinator_->store().epoch(), attempt));
    a.set_job_id(job_id_);
    a.set_iteration(iteration);
    a.set_world_size(std::max<uint32_t>(1, spec_.training().world_size()));
    a.set_backend("gloo");
    a.set_base_checkpoint(base);
    a.set_output_checkpoint(output);
    *a.mutable_training() = spec_.training();
    a.set_steps(steps);
    a.set_seed(spec_.seed() * 7919 + iteration);
    a.set_collective_timeout_ms(options_.collective_timeout_ms);
    plan.examples = examples;
    if (attempt > 1) {
      plan.min_world_size = 1;
      plan.settle = options_.round_settle;
    }
    const std::string round_id = a.round_id();  // `plan` is moved below
    if (absl::Status s = coordinator_->rounds().Submit(std::move(plan)); !s.ok()) return s;
    if (absl::Status s = coordinator_->store().PutRound(round_id, job_id_, iteration, "submitted", "");
        !s.ok()) {
      return s;
    }
    absl::Time deadline = absl::Now() + options_.round_timeout;
    Mutate([&](star::v1::JobStatus& s) {
      s.set_train_step(0);
      s.set_train_steps(steps);
      s.set_train_loss(0);
      s.set_train_tokens_per_second(0);
    });
    while (true) {
      if (cancelled()) return absl::CancelledError("cancelled");
      std::optional<RoundProgress> p = coordinator_->rounds().WaitForEnd(round_id, absl::Seconds(1));
      if (!p) return absl::InternalError(absl::StrCat("round ", round_id, " vanished"));
      if (!p->steps.empty()) {
        uint32_t step = 0;
        double loss = 0, tokens_per_second = 0;
        for (const auto& [rank, report] : p->steps) {
          if (report.step() >= step) {
            step = report.step();
            loss = report.loss();
          }
          tokens_per_second += report.tokens_per_second();
        }
        Mutate([&](star::v1::JobStatus& s) {
          s.set_train_step(step);
          s.set_train_loss(loss);
          s.set_train_tokens_per_second(tokens_per_second);
        });
      }
      if (p->state == RoundState::kSucceeded) {
        if (absl::Status s = coordinator_->store().PutRound(round_id, job_id_, iteration,
                                                            "succeeded", "");
            !s.ok()) {
          return s;
        }
        return *p;
      }
      if (p->state == RoundState::kFailed) {
        last = absl::UnavailableError(absl::StrCat("round ", round_id, ": ", p->error));
        (void)coordinator_->store().PutRound(round_id, job_id_, iteration, "failed", p->error);
        break;
      }
      if (absl::Now() > deadline) {
        last = absl::DeadlineExceededError(absl::StrCat("round ", round_id, " did not end"));
        (void)coordinator_->store().PutRound(round_id, job_id_, iteration, "failed",
                                             std::string(last.message()));
        break;
      }
    }
    STAR_LOG(WARNING) << "job " << job_id_ << ": " << last.message() << "; retrying";
  }
  return last;
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
  std::map<uint64_t, std::string> training_prompt;
  for (const Question& q : (*suite)->pool()) {
    pool.push_back(ToShardQuestion(**suite, q));
    training_prompt[q.id] = (*suite)->task().Prompt(q);
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
  double best = -1;
  uint32_t stale = 0;
  // Plateau bookkeeping; true when the job should stop after `result`.
  auto plateaued = [&](const star::v1::IterationResult& result) {
    uint32_t correct = 0, total = 0;
    for (const auto& b : result.accuracy()) {
      correct += b.correct();
      total += b.total();
    }
    double accuracy = total ? static_cast<double>(correct) / total : 0;
    if (accuracy > best + spec_.plateau_min_gain()) {
      best = accuracy;
      stale = 0;
      return false;
    }
    return spec_.plateau_patience() > 0 && ++stale >= spec_.plateau_patience();
  };
  for (uint32_t n = 1; n <= spec_.iterations(); ++n) {
    if (auto it = finished.find(n); it != finished.end()) {
      previous = it->second.checkpoint();
      previous_id = previous == m0 ? "m0" : absl::StrCat("m", n);
      if (plateaued(it->second)) break;
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
      result.set_accepted_direct(0);
      result.set_accepted_rationalized(0);
      // The kept set: deduplicated and capped per question as the filter says.
      absl::StatusOr<std::vector<AcceptedRationale>> accepted =
          coordinator_->store().Accepted(job_id_, n);
      if (!accepted.ok()) return accepted.status();
      std::set<std::pair<uint64_t, std::string>> seen;
      std::map<uint64_t, uint32_t> per_question;
      std::set<uint64_t> answered, direct;
      std::vector<nlohmann::json> kept_log;
      std::map<uint64_t, std::string> bucket_of_question;
      for (const star::v1::ShardQuestion& q : pool) bucket_of_question[q.question_id()] = q.bucket();
      std::vector<std::string> bucket_of;  // of each kept rationale
      for (const AcceptedRationale& r : *accepted) {
        if (spec_.filter().deduplicate() && !seen.insert({r.question_id, r.completion}).second) continue;
        if (spec_.filter().max_kept_per_question() > 0 &&
            per_question[r.question_id] >= spec_.filter().max_kept_per_question()) {
          continue;
        }
        ++per_question[r.question_id];
        if (r.rationalized) {
          result.set_accepted_rationalized(result.accepted_rationalized() + 1);
        } else {
          result.set_accepted_direct(result.accepted_direct() + 1);
        }
        answered.insert(r.question_id);
        if (!r.rationalized) direct.insert(r.question_id);
        bucket_of.push_back(bucket_of_question[r.question_id]);
        const std::string& prompt = training_prompt[r.question_id];
        kept_log.push_back({{"question_id", r.question_id},
                            {"rationalized", r.rationalized},
                            {"prompt", prompt},
                            {"completion", r.completion}});
        star::v1::TrainingExample e;
        e.set_example_id(examples.size());
        e.set_prompt(prompt);
        e.set_completion(r.completion);
        examples.push_back(std::move(e));
      }
      result.set_rejected(static_cast<uint32_t>(pool.size() - answered.size()));
      if (spec_.filter().bucket_balance_max_repeat() > 1) {
        const std::vector<uint32_t> copies =
            BalancedCopies(bucket_of, spec_.filter().bucket_balance_max_repeat());
        const size_t unique = examples.size();
        for (size_t i = 0; i < unique; ++i) {
          for (uint32_t c = 1; c < copies[i]; ++c) {
            star::v1::TrainingExample e = examples[i];
            e.set_example_id(examples.size());
            examples.push_back(std::move(e));
          }
        }
      }
      // Per bucket: how many pool questions the kept set answers, directly or only hinted.
      std::map<std::string, star::v1::BucketKept> buckets;
      for (const star::v1::ShardQuestion& q : pool) {
        star::v1::BucketKept& b = buckets[q.bucket()];
        b.set_bucket(q.bucket());
        b.set_questions(b.questions() + 1);
        if (direct.contains(q.question_id())) {
          b.set_direct(b.direct() + 1);
        } else if (answered.contains(q.question_id())) {
          b.set_rationalized(b.rationalized() + 1);
        }
      }
      for (auto& [name, b] : buckets) *result.add_kept() = std::move(b);
      if (absl::Status s = WriteKeptSet(n, kept_log); !s.ok()) return s;
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
    if (plateaued(result)) {
      STAR_LOG(INFO) << "job " << job_id_ << ": accuracy plateaued at iteration " << n;
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace star
