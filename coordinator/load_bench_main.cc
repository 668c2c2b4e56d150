// star-bench-coordinator: how many rationales per second one coordinator durably accepts from
// many concurrent workers, and how long their leases take.
//
// This process hosts a real coordinator (Coordinator service over gRPC on loopback, a SQLite
// state store in WAL mode with synchronous=FULL under a temporary --state-dir) with a pass of
// generation shards of addition questions queued. It then starts itself again as a second
// process (--role workers) that runs --workers simulated workers: state machines on gRPC's
// asynchronous client (completion queues and alarms), a few --driver-threads between them all,
// so that 10,000 workers fit on two cores. Each registers, then leases a shard (a long-poll
// of 500 ms), holds it for about --generate-ms (0.5-1.5 times, at random) where a real worker
// would generate, submits every question's reference scratchpad (so every sample verifies),
// and leases again, until no shard is left. The model is skipped; the coordinator does
// everything it does for real workers (lease bookkeeping, validation, verification of every
// sample with the task, the durable commit before the answer).
//
// Reported: accepted rationales per second (committed in the store, over the time from the
// first lease to the last commit), lease latency p50/p99 as the workers saw it, the
// coordinator process's CPU (cores busy), peak resident memory and peak thread count, and the
// workers' process's peak threads and memory. Every wait has a deadline (--timeout-s); a
// workers' process that dies ends the run with its exit status.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "coordinator/coordinator.h"
#include "coordinator/grpc_services.h"
#include "coordinator/state_store.h"
#include "flags/flag_parser.h"
#include "grpcpp/alarm.h"
#include "grpcpp/grpcpp.h"
#include "process/child_process.h"
#include "service/channel_security.h"
#include "service/client_call.h"
#include "service/grpc_server.h"
#include "star/v1/coordinator.grpc.pb.h"
#include "tasks/task_factory.h"
#include "tasks/task_suite.h"

namespace star {
namespace {

struct BenchFlags {
  std::string role = "coordinator";
  std::string coordinator;
  std::string ready_file;
  std::string result_file;
  int64_t workers = 1000;
  int64_t shards = 2000;
  int64_t shard_size = 50;
  int64_t channels = 32;
  int64_t driver_threads = 2;
  int64_t generate_ms = 2000;
  int64_t timeout_s = 900;
  bool lease_with_submit = true;
};

// The bench's task, as a job would name it: 1-5 digit sums in the paper's scratchpad format.
star::v1::TaskSpec BenchTask() {
  star::v1::TaskSpec task;
  task.mutable_addition()->set_min_digits(1);
  task.mutable_addition()->set_max_digits(5);
  return task;
}

// The questions of the bench, the same in both processes: the task suite's training pool of
// `count` questions spread over the lengths.
std::vector<Question> BenchQuestions(int64_t count) {
  star::v1::JobSpec spec;
  spec.set_seed(77);
  *spec.mutable_task() = BenchTask();
  spec.mutable_task()->mutable_addition()->set_train_questions(static_cast<uint32_t>(count));
  absl::StatusOr<std::unique_ptr<TaskSuite>> suite = MakeTaskSuite(spec);
  if (!suite.ok() || !(*suite)->Load("").ok()) return {};
  return (*suite)->pool();
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

// "Threads:" and "VmHWM:" (peak resident set, MiB) of a process, from /proc/PID/status; -1
// for what cannot be read.
struct ProcessFigures {
  int64_t threads = -1;
  double peak_rss_mib = -1;
};
ProcessFigures ReadProcessFigures(const std::string& pid) {
  ProcessFigures out;
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    int64_t value = 0;
    if (line.rfind("Threads:", 0) == 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &value)) {
      out.threads = value;
    } else if (line.rfind("VmHWM:", 0) == 0) {
      std::string kb(absl::StripAsciiWhitespace(line.substr(6)));
      if (absl::SimpleAtoi(kb.substr(0, kb.find(' ')), &value)) out.peak_rss_mib = value / 1024.0;
    }
  }
  return out;
}

// One simulated worker: a state machine driven by a completion queue, so that thousands share
// a few threads. At most one operation (a call or a timer) is outstanding per worker; its tag is
// the worker itself.
class SimulatedWorker {
 public:
  enum class State { kRegistering, kParked, kLeasing, kHolding, kSubmitting, kFinished };

  SimulatedWorker(int64_t index, star::v1::Coordinator::Stub* stub, grpc::CompletionQueue* cq,
                  const BenchFlags& flags, const std::map<uint64_t, std::string>* completions)
      : index_(index), stub_(stub), cq_(cq), flags_(flags), completions_(completions) {}

  void Register() {
    state_ = State::kRegistering;
    star::v1::RegisterWorkerRequest request;
    request.set_hostname(absl::StrCat("bench-", index_));
    Call(&star::v1::Coordinator::Stub::PrepareAsyncRegisterWorker, request, &registered_,
         absl::Seconds(30));
  }

  // Called once every worker is registered: the first lease after a random share of a
  // generation's length (real workers are not in step).
  void Start(absl::Duration offset) {
    state_ = State::kParked;
    alarm_.Set(cq_, DeadlineIn(offset), this);
  }

  // The event of the outstanding operation. Returns false once the worker is finished.
  bool Step(bool ok) {
    switch (state_) {
      case State::kRegistering:
        if (ok && status_.ok()) {
          worker_id_ = registered_.worker_id();
          return true;  // parked until Start()
        }
        ++errors;
        if (++register_attempts_ >= 50) {
          state_ = State::kFinished;
          return false;
        }
        Register();
        return true;
      case State::kParked:
        Lease();
        return true;
      case State::kLeasing:
        if (!ok || !status_.ok()) {
          ++errors;
          Lease();
          return true;
        }
        if (lease_.lease_id().empty()) {  // the pass is done
          state_ = State::kFinished;
          return false;
        }
        lease_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - call_start_));
        Hold();
        return true;
      case State::kHolding:
        Submit();
        return true;
      case State::kSubmitting:
        if (ok && status_.ok()) {
          ++submissions;
          submit_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - call_start_));
        } else {
          ++errors;
        }
        if (ok && status_.ok() && !submitted_.next().lease_id().empty()) {
          // The submission brought the next lease: its wait was the submission's round trip.
          lease_ms.push_back(submit_ms.back());
          lease_ = std::move(*submitted_.mutable_next());
          Hold();
          return true;
        }
        Lease();
        return true;
      case State::kFinished:
        return false;
    }
    return false;
  }

  bool registered() const { return !worker_id_.empty(); }
  State state() const { return state_; }

  std::vector<double> lease_ms;
  std::vector<double> submit_ms;
  int64_t submissions = 0;
  int64_t errors = 0;

 private:
  template <typename Prepare, typename Request, typename Response>
  void Call(Prepare prepare, const Request& request, Response* response, absl::Duration deadline) {
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(DeadlineIn(deadline));
    call_start_ = absl::Now();
    auto reader = (stub_->*prepare)(context_.get(), request, cq_);
    reader->StartCall();
    reader->Finish(response, &status_, this);
    // The reader may go: the call lives on in the completion queue until its tag comes back.
  }

  // Where a real worker would generate: 0.5-1.5 times --generate-ms.
  void Hold() {
    state_ = State::kHolding;
    alarm_.Set(cq_,
               DeadlineIn(absl::Milliseconds(absl::Uniform<int64_t>(
                   gen_, flags_.generate_ms / 2, flags_.generate_ms * 3 / 2 + 1))),
               this);
  }

  void Lease() {
    state_ = State::kLeasing;
    star::v1::LeaseShardRequest request;
    request.set_worker_id(worker_id_);
    request.set_wait_ms(500);
    lease_.Clear();
    Call(&star::v1::Coordinator::Stub::PrepareAsyncLeaseShard, request, &lease_, absl::Seconds(30));
  }

  void Submit() {
    state_ = State::kSubmitting;
    star::v1::SubmitShardResultRequest submit;
    submit.set_worker_id(worker_id_);
    submit.set_lease_id(lease_.lease_id());
    submit.set_shard_id(lease_.shard().shard_id());
    submit.set_lease_next(flags_.lease_with_submit);
    submitted_.Clear();
    for (const star::v1::ShardQuestion& q : lease_.shard().questions()) {
      star::v1::QuestionResult* r = submit.add_results();
      r->set_question_id(q.question_id());
      r->add_samples()->set_completion(completions_->at(q.question_id()));
    }
    Call(&star::v1::Coordinator::Stub::PrepareAsyncSubmitShardResult, submit, &submitted_,
         absl::Seconds(30));
  }

  const int64_t index_;
  star::v1::Coordinator::Stub* stub_;
  grpc::CompletionQueue* cq_;
  const BenchFlags& flags_;
  const std::map<uint64_t, std::string>* completions_;
  State state_ = State::kRegistering;
  absl::BitGen gen_;
  grpc::Alarm alarm_;
  std::unique_ptr<grpc::ClientContext> context_;
  grpc::Status status_;
  absl::Time call_start_;
  int register_attempts_ = 0;
  std::string worker_id_;
  star::v1::RegisterWorkerResponse registered_;
  star::v1::LeaseShardResponse lease_;
  star::v1::SubmitShardResultResponse submitted_;
};

// --role workers: the simulated workers, --driver-threads threads between them (each with its
// own completion queue). Writes "ready" to --ready-file once every worker is registered, then
// works; at the end writes "lease_p50_ms lease_p99_ms leases submissions errors threads
// peak_rss_mib" to --result-file.
int RunWorkers(const BenchFlags& flags) {
  std::vector<Question> questions = BenchQuestions(flags.shards * flags.shard_size);
  std::map<uint64_t, std::string> completions;
  const std::unique_ptr<Task> task = *MakeTask(BenchTask());
  for (const Question& q : questions) completions[q.id] = *task->ReferenceCompletion(q);
  std::vector<std::unique_ptr<star::v1::Coordinator::Stub>> stubs;
  for (int64_t i = 0; i < flags.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", static_cast<int>(i));  // a connection per channel
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    stubs.push_back(star::v1::Coordinator::NewStub(
        grpc::CreateCustomChannel(flags.coordinator, grpc::InsecureChannelCredentials(), args)));
  }
  const int64_t drivers = std::min(flags.driver_threads, flags.workers);
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (int64_t d = 0; d < drivers; ++d) queues.push_back(std::make_unique<grpc::CompletionQueue>());
  std::vector<std::unique_ptr<SimulatedWorker>> workers;
  for (int64_t w = 0; w < flags.workers; ++w) {
    workers.push_back(std::make_unique<SimulatedWorker>(w, stubs[w % stubs.size()].get(),
                                                        queues[w % drivers].get(), flags,
                                                        &completions));
  }
  std::atomic<int64_t> registered = 0;
  std::atomic<int64_t> finished = 0;
  std::vector<std::thread> threads;
  for (int64_t d = 0; d < drivers; ++d) {
    threads.emplace_back([&, d] {
      void* tag = nullptr;
      bool ok = false;
      while (queues[d]->Next(&tag, &ok)) {
        auto* worker = static_cast<SimulatedWorker*>(tag);
        const bool was_registering = worker->state() == SimulatedWorker::State::kRegistering;
        if (!worker->Step(ok)) {
          ++finished;
        } else if (was_registering && worker->registered()) {
          ++registered;
        }
      }
    });
  }
  for (auto& worker : workers) worker->Register();
  // Every worker either registered or gave up (then it is finished and counted as an error).
  while (registered.load() + finished.load() < flags.workers) absl::SleepFor(absl::Milliseconds(10));
  std::ofstream(flags.ready_file) << "ready\n";
  absl::BitGen gen;
  for (auto& worker : workers) {
    if (worker->registered()) {
      worker->Start(absl::Milliseconds(absl::Uniform<int64_t>(gen, 0, flags.generate_ms + 1)));
    }
  }
  int64_t peak_threads = 0;
  while (finished.load() < flags.workers) {
    peak_threads = std::max(peak_threads, ReadProcessFigures("self").threads);
    absl::SleepFor(absl::Milliseconds(100));
  }
  for (auto& queue : queues) queue->Shutdown();
  for (std::thread& t : threads) t.join();
  std::vector<double> lease_ms;
  std::vector<double> submit_ms;
  int64_t leases = 0, submissions = 0, errors = 0;
  for (const auto& worker : workers) {
    lease_ms.insert(lease_ms.end(), worker->lease_ms.begin(), worker->lease_ms.end());
    submit_ms.insert(submit_ms.end(), worker->submit_ms.begin(), worker->submit_ms.end());
    leases += static_cast<int64_t>(worker->lease_ms.size());
    submissions += worker->submissions;
    errors += worker->errors + (worker->registered() ? 0 : 1);
  }
  std::ofstream(flags.result_file) << absl::StrFormat(
      "%.3f %.3f %d %d %d %d %.1f %.3f %.3f\n", Percentile(lease_ms, 0.5),
      Percentile(lease_ms, 0.99), leases, submissions, errors, peak_threads,
      ReadProcessFigures("self").peak_rss_mib, Percentile(submit_ms, 0.5),
      Percentile(submit_ms, 0.99));
  return 0;
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// CPU seconds (user and system) process `pid` has used so far, from /proc/PID/stat; -1 when it
// cannot be read.
double ProcessCpuSeconds(const std::string& pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat;
  std::getline(in, stat);
  // The fields after the command name (which may hold spaces) in parentheses: utime and stime
  // are the 12th and 13th of them, in clock ticks.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Peak resident set of this process, in MiB.
double PeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // kilobytes on Linux
}

int RunCoordinator(const BenchFlags& flags, const std::string& self) {
  char pattern[] = "/tmp/star-bench-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::string dir = pattern;
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(StateStore::PathIn(dir));
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  CoordinatorOptions options;
  options.store = store->get();
  options.lease_timeout = absl::Seconds(120);
  Coordinator coordinator(options);
  std::unique_ptr<CallAuthenticator> auth = ClusterMemberAuthenticator(ServerSecurity());
  CoordinatorGrpcService service(&coordinator, auth.get());
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start("127.0.0.1:0", {{star::v1::Coordinator::service_full_name(), &service}});
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }

  const std::unique_ptr<Task> task = *MakeTask(BenchTask());
  std::vector<Question> questions = BenchQuestions(flags.shards * flags.shard_size);
  std::vector<star::v1::Shard> shards;
  for (int64_t s = 0; s < flags.shards; ++s) {
    star::v1::Shard shard;
    shard.set_shard_id(absl::StrFormat("bench-i1-gen-%d", s));
    shard.set_job_id("bench");
    shard.set_iteration(1);
    shard.set_kind(star::v1::SHARD_KIND_GENERATE);
    *shard.mutable_task() = BenchTask();
    shard.mutable_generation()->set_samples_per_question(1);
    for (int64_t i = s * flags.shard_size; i < (s + 1) * flags.shard_size; ++i) {
      const Question& q = questions[i];
      star::v1::ShardQuestion* sq = shard.add_questions();
      sq->set_question_id(q.id);
      sq->set_prompt(task->Prompt(q));
      sq->set_hinted_prompt(task->HintedPrompt(q));
      sq->set_bucket(q.bucket);
      sq->set_gold_answer(q.answer);
    }
    shards.push_back(shard);
  }
  if (absl::Status s = (*store)->AddShards(shards); !s.ok()) return 1;
  for (star::v1::Shard& shard : shards) (void)coordinator.shards().Add(std::move(shard));

  const std::string ready = dir + "/ready";
  const std::string result = dir + "/result";
  absl::StatusOr<ChildProcess> workers = ChildProcess::Start(
      {self, "--role", "workers", "--coordinator", absl::StrCat("127.0.0.1:", (*server)->port()),
       "--workers", absl::StrCat(flags.workers), "--shards", absl::StrCat(flags.shards),
       "--shard-size", absl::StrCat(flags.shard_size), "--channels", absl::StrCat(flags.channels),
       "--driver-threads", absl::StrCat(flags.driver_threads),
       "--generate-ms", absl::StrCat(flags.generate_ms),
       absl::StrCat("--lease-with-submit=", flags.lease_with_submit ? "true" : "false"),
       "--ready-file", ready, "--result-file", result},
      dir + "/workers.log");
  if (!workers.ok()) {
    std::fprintf(stderr, "cannot start the workers' process: %s\n",
                 std::string(workers.status().message()).c_str());
    return 1;
  }
  const std::string workers_pid = absl::StrCat(workers->pid());
  // Every wait below has a deadline; a dead workers' process or a deadline ends the run with a
  // line saying which, the threads of both processes, and the tail of the workers' log.
  const absl::Time deadline = absl::Now() + absl::Seconds(flags.timeout_s);
  int64_t peak_threads = 0;
  const auto fail = [&](const std::string& what) {
    std::fprintf(stderr,
                 "FAILED: %s\n  coordinator threads %lld (peak %lld), workers' process threads %lld; "
                 "registered workers %lld; shards done %lld/%lld\n  workers' log: %s\n",
                 what.c_str(), static_cast<long long>(ReadProcessFigures("self").threads),
                 static_cast<long long>(peak_threads),
                 static_cast<long long>(ReadProcessFigures(workers_pid).threads),
                 static_cast<long long>(coordinator.GetCluster().workers_size()),
                 static_cast<long long>(coordinator.shards().Counts().done),
                 static_cast<long long>(flags.shards), (dir + "/workers.log").c_str());
    return 1;
  };
  const auto check = [&](const char* waiting_for) -> std::optional<int> {
    peak_threads = std::max(peak_threads, ReadProcessFigures("self").threads);
    if (std::optional<int> status = workers->Poll()) {
      return fail(absl::StrFormat("the workers' process exited with status %d while %s", *status,
                                  waiting_for));
    }
    if (absl::Now() > deadline) {
      return fail(absl::StrFormat("no end after --timeout-s %d s while %s", flags.timeout_s,
                                  waiting_for));
    }
    return std::nullopt;
  };
  std::fprintf(stderr, "%lld workers registering...\n", static_cast<long long>(flags.workers));
  int64_t last_registered = 0;
  absl::Time last_print = absl::Now();
  while (!std::filesystem::exists(ready)) {
    if (std::optional<int> failed = check("the workers register")) return *failed;
    if (absl::Now() - last_print > absl::Seconds(5)) {
      const int64_t now = static_cast<int64_t>(coordinator.GetCluster().workers_size());
      std::fprintf(stderr, "  %lld registered (+%lld in 5 s), coordinator threads %lld\n",
                   static_cast<long long>(now), static_cast<long long>(now - last_registered),
                   static_cast<long long>(ReadProcessFigures("self").threads));
      last_registered = now;
      last_print = absl::Now();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Time start = absl::Now();
  const double cpu_start = CpuSeconds();
  const double workers_cpu_start = ProcessCpuSeconds(workers_pid);
  int64_t last_report = 0;
  while (!coordinator.shards().AllDone()) {
    if (std::optional<int> failed = check("the workers work")) return *failed;
    absl::SleepFor(absl::Milliseconds(20));
    int64_t done = coordinator.shards().Counts().done;
    if (done - last_report >= flags.shards / 10) {
      std::fprintf(stderr, "  %lld/%lld shards, coordinator threads %lld\n",
                   static_cast<long long>(done), static_cast<long long>(flags.shards),
                   static_cast<long long>(ReadProcessFigures("self").threads));
      last_report = done;
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu = CpuSeconds() - cpu_start;
  const double workers_cpu = ProcessCpuSeconds(workers_pid) - workers_cpu_start;
  std::optional<int> exit = workers->Wait(absl::Seconds(120));
  if (!exit.has_value()) return fail("the workers' process did not end within 120 s of the pass");
  const int64_t accepted = (*store)->AcceptedCount().value_or(-1);
  std::string numbers = ReadFirstLine(result);
  double p50 = 0, p99 = 0, workers_rss = -1, submit_p50 = 0, submit_p99 = 0;
  long long leases = 0, submissions = 0, errors = 0, workers_threads = -1;
  std::sscanf(numbers.c_str(), "%lf %lf %lld %lld %lld %lld %lf %lf %lf", &p50, &p99, &leases,
              &submissions, &errors, &workers_threads, &workers_rss, &submit_p50, &submit_p99);
  std::printf(
      "workers %lld (each holding a shard %lld ms), shards %lld x %lld questions, store %s "
      "(WAL, synchronous=FULL)\n"
      "accepted rationales (committed): %lld in %.2f s = %.0f per second\n"
      "lease latency (as workers saw it): p50 %.2f ms, p99 %.2f ms over %lld leases (%s)\n"
      "submission latency (until durable): p50 %.2f ms, p99 %.2f ms\n"
      "submissions %lld, errors %lld, workers' exit %d\n"
      "coordinator process: %.2f CPU cores busy on average, peak RSS %.0f MiB, peak threads %lld\n"
      "workers' process (%lld driver threads): %.2f CPU cores busy on average, peak threads %lld, "
      "peak RSS %.0f MiB\n",
      static_cast<long long>(flags.workers), static_cast<long long>(flags.generate_ms),
      static_cast<long long>(flags.shards),
      static_cast<long long>(flags.shard_size), StateStore::PathIn(dir).c_str(),
      static_cast<long long>(accepted), seconds, accepted / seconds, p50, p99, leases,
      flags.lease_with_submit ? "a submission's answer carries the next lease"
                              : "every lease a LeaseShard call",
      submit_p50, submit_p99, submissions,
      errors, exit.value_or(-1), cpu / seconds, PeakRssMib(), static_cast<long long>(peak_threads),
      static_cast<long long>(flags.driver_threads), workers_cpu / seconds, workers_threads,
      workers_rss);
  (*server)->Shutdown(absl::Seconds(1));
  std::filesystem::remove_all(dir);
  return accepted == flags.shards * flags.shard_size && errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) {
  // As star-coordinator (coordinator/main.cc): no deadlock detector on gRPC's mutexes.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  star::BenchFlags bench;
  star::FlagParser flags("star-bench-coordinator",
                         "Measures the rationales per second one coordinator durably accepts from "
                         "many concurrent simulated workers (no model), lease latency, and the "
                         "coordinator's CPU and memory.");
  flags.AddString("role", &bench.role, "coordinator (measures; starts the workers) or workers");
  flags.AddString("coordinator", &bench.coordinator, "(workers) the coordinator's address");
  flags.AddString("ready-file", &bench.ready_file, "(workers) written once all are registered");
  flags.AddString("result-file", &bench.result_file, "(workers) where the workers' numbers go");
  flags.AddInt("workers", &bench.workers,
               "concurrent simulated workers (state machines sharing --driver-threads threads)", 1,
               100000);
  flags.AddInt("driver-threads", &bench.driver_threads,
               "threads of the workers' process that drive all simulated workers", 1, 256);
  flags.AddInt("timeout-s", &bench.timeout_s,
               "the whole run's deadline: past it the run fails, saying what it waited for", 1,
               86400);
  flags.AddInt("shards", &bench.shards, "shards in the pass", 1, 10'000'000);
  flags.AddInt("shard-size", &bench.shard_size, "questions per shard", 1, 10000);
  flags.AddInt("channels", &bench.channels, "gRPC connections the workers share", 1, 10000);
  flags.AddInt("generate-ms", &bench.generate_ms,
               "how long a worker holds each shard before submitting, where it would generate "
               "(0: submit at once, a closed loop that only measures saturation)",
               0, 600000);
  flags.AddBool("lease-with-submit", &bench.lease_with_submit,
                 "workers ask for their next shard with each submission (lease_next) instead of "
                 "a LeaseShard call after it");
  flags.ParseOrExit(argc, argv);
  if (bench.role == "workers") return star::RunWorkers(bench);
  if (bench.role != "coordinator") {
    std::fprintf(stderr, "star-bench-coordinator: --role must be coordinator or workers\n");
    return 2;
  }
  char self[4096] = {};
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return 1;
  return star::RunCoordinator(bench, std::string(self, n));
}
