// star-bench-coordinator: how many rationales per second one coordinator durably accepts from
// many concurrent workers, and how long their leases take.
//
// This process hosts a real coordinator (Coordinator service over gRPC on loopback, a SQLite
// state store in WAL mode with synchronous=FULL under a temporary --state-dir) with a pass of
// generation shards of addition questions queued. It then starts itself again as a second
// process (--role workers) that runs --workers simulated workers, one thread each: register,
// then lease a shard, hold it for about --generate-ms (0.5-1.5 times, at random) where a real
// worker would generate, submit every
// question's reference scratchpad (so every sample verifies), lease again, until no shard is
// left. The model is skipped; the coordinator does everything it
// does for real workers (lease bookkeeping, validation, verification of every sample with the
// task, the durable commit before the answer).
//
// Reported: accepted rationales per second (committed in the store, over the time from the
// first lease to the last commit), lease latency p50/p99 as the workers saw it, the
// coordinator process's CPU (cores busy) and peak resident memory.

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
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "coordinator/coordinator.h"
#include "coordinator/grpc_services.h"
#include "coordinator/state_store.h"
#include "flags/flag_parser.h"
#include "grpcpp/grpcpp.h"
#include "process/child_process.h"
#include "service/channel_security.h"
#include "service/grpc_server.h"
#include "star/v1/coordinator.grpc.pb.h"
#include "tasks/addition_task.h"

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
  int64_t generate_ms = 2000;
};

// The questions of the bench, the same in both processes: lengths 1-5, round robin.
std::vector<Question> BenchQuestions(int64_t count) {
  std::vector<Question> out;
  for (int d = 1; d <= 5; ++d) {
    for (Question& q : AdditionTask::Generate(d, static_cast<int>((count + 4 - (d - 1)) / 5), 77 + d,
                                              static_cast<uint64_t>(d) * 1'000'000'000ULL)) {
      out.push_back(std::move(q));
    }
  }
  out.resize(static_cast<size_t>(count));
  return out;
}

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

// --role workers: the simulated workers. Writes "ready" to --ready-file once every worker is
// registered, then works; at the end writes "lease_p50_ms lease_p99_ms leases submissions
// errors" to --result-file.
int RunWorkers(const BenchFlags& flags) {
  std::vector<Question> questions = BenchQuestions(flags.shards * flags.shard_size);
  std::map<uint64_t, std::string> completions;
  for (const Question& q : questions) completions[q.id] = *AdditionTask().ReferenceCompletion(q);
  std::vector<std::unique_ptr<star::v1::Coordinator::Stub>> stubs;
  for (int64_t i = 0; i < flags.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", static_cast<int>(i));  // a connection per channel
    stubs.push_back(star::v1::Coordinator::NewStub(
        grpc::CreateCustomChannel(flags.coordinator, grpc::InsecureChannelCredentials(), args)));
  }
  absl::Mutex mu;
  std::vector<double> lease_ms;
  int64_t leases = 0, submissions = 0, errors = 0;
  std::atomic<int64_t> registered = 0;
  std::atomic<bool> go = false;
  std::vector<std::thread> threads;
  for (int64_t w = 0; w < flags.workers; ++w) {
    threads.emplace_back([&, w] {
      star::v1::Coordinator::Stub& stub = *stubs[w % stubs.size()];
      std::string worker_id;
      for (int attempt = 0; attempt < 50 && worker_id.empty(); ++attempt) {
        star::v1::RegisterWorkerRequest request;
        request.set_hostname(absl::StrCat("bench-", w));
        star::v1::RegisterWorkerResponse response;
        grpc::ClientContext context;
        context.set_deadline(DeadlineIn(absl::Seconds(30)));
        if (stub.RegisterWorker(&context, request, &response).ok()) worker_id = response.worker_id();
      }
      ++registered;
      while (!go.load()) absl::SleepFor(absl::Milliseconds(5));
      // Real workers are not in step: each starts at a random moment of a generation's length
      // and takes 0.5-1.5 times --generate-ms per shard.
      absl::BitGen gen;
      absl::SleepFor(absl::Milliseconds(absl::Uniform<int64_t>(gen, 0, flags.generate_ms + 1)));
      std::vector<double> mine;
      int64_t my_leases = 0, my_submissions = 0, my_errors = worker_id.empty() ? 1 : 0;
      while (!worker_id.empty()) {
        star::v1::LeaseShardRequest lease_request;
        lease_request.set_worker_id(worker_id);
        lease_request.set_wait_ms(500);
        star::v1::LeaseShardResponse lease;
        grpc::ClientContext lease_context;
        lease_context.set_deadline(DeadlineIn(absl::Seconds(30)));
        absl::Time start = absl::Now();
        grpc::Status status = stub.LeaseShard(&lease_context, lease_request, &lease);
        if (!status.ok()) {
          ++my_errors;
          continue;
        }
        if (lease.lease_id().empty()) break;  // the pass is done
        mine.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
        ++my_leases;
        // Where a real worker would generate.
        absl::SleepFor(absl::Milliseconds(
            absl::Uniform<int64_t>(gen, flags.generate_ms / 2, flags.generate_ms * 3 / 2 + 1)));
        star::v1::SubmitShardResultRequest submit;
        submit.set_worker_id(worker_id);
        submit.set_lease_id(lease.lease_id());
        submit.set_shard_id(lease.shard().shard_id());
        for (const star::v1::ShardQuestion& q : lease.shard().questions()) {
          star::v1::QuestionResult* r = submit.add_results();
          r->set_question_id(q.question_id());
          r->add_samples()->set_completion(completions[q.question_id()]);
        }
        star::v1::SubmitShardResultResponse submitted;
        grpc::ClientContext submit_context;
        submit_context.set_deadline(DeadlineIn(absl::Seconds(30)));
        if (stub.SubmitShardResult(&submit_context, submit, &submitted).ok()) {
          ++my_submissions;
        } else {
          ++my_errors;
        }
      }
      absl::MutexLock lock(&mu);
      lease_ms.insert(lease_ms.end(), mine.begin(), mine.end());
      leases += my_leases;
      submissions += my_submissions;
      errors += my_errors;
    });
  }
  while (registered.load() < flags.workers) absl::SleepFor(absl::Milliseconds(10));
  std::ofstream(flags.ready_file) << "ready\n";
  go = true;
  for (std::thread& t : threads) t.join();
  std::ofstream(flags.result_file) << absl::StrFormat("%.3f %.3f %d %d %d\n", Percentile(lease_ms, 0.5),
                                                      Percentile(lease_ms, 0.99), leases,
                                                      submissions, errors);
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

  AdditionTask task;
  std::vector<Question> questions = BenchQuestions(flags.shards * flags.shard_size);
  std::vector<star::v1::Shard> shards;
  for (int64_t s = 0; s < flags.shards; ++s) {
    star::v1::Shard shard;
    shard.set_shard_id(absl::StrFormat("bench-i1-gen-%d", s));
    shard.set_job_id("bench");
    shard.set_iteration(1);
    shard.set_kind(star::v1::SHARD_KIND_GENERATE);
    star::v1::AdditionTaskSpec* add = shard.mutable_task()->mutable_addition();
    add->set_min_digits(1);
    add->set_max_digits(5);
    shard.mutable_generation()->set_samples_per_question(1);
    for (int64_t i = s * flags.shard_size; i < (s + 1) * flags.shard_size; ++i) {
      const Question& q = questions[i];
      star::v1::ShardQuestion* sq = shard.add_questions();
      sq->set_question_id(q.id);
      sq->set_prompt(task.Prompt(q));
      sq->set_hinted_prompt(task.HintedPrompt(q));
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
       "--generate-ms", absl::StrCat(flags.generate_ms),
       "--ready-file", ready, "--result-file", result},
      dir + "/workers.log");
  if (!workers.ok()) return 1;
  std::fprintf(stderr, "%lld workers registering...\n", static_cast<long long>(flags.workers));
  while (!std::filesystem::exists(ready)) {
    if (workers->Poll()) {
      std::fprintf(stderr, "the workers' process exited early\n");
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  const absl::Time start = absl::Now();
  const double cpu_start = CpuSeconds();
  int64_t last_report = 0;
  while (!coordinator.shards().AllDone()) {
    absl::SleepFor(absl::Milliseconds(20));
    int64_t done = coordinator.shards().Counts().done;
    if (done - last_report >= flags.shards / 10) {
      std::fprintf(stderr, "  %lld/%lld shards\n", static_cast<long long>(done),
                   static_cast<long long>(flags.shards));
      last_report = done;
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu = CpuSeconds() - cpu_start;
  std::optional<int> exit = workers->Wait(absl::Seconds(120));
  const int64_t accepted = (*store)->AcceptedCount().value_or(-1);
  std::string numbers = ReadFirstLine(result);
  double p50 = 0, p99 = 0;
  long long leases = 0, submissions = 0, errors = 0;
  std::sscanf(numbers.c_str(), "%lf %lf %lld %lld %lld", &p50, &p99, &leases, &submissions, &errors);
  std::printf(
      "workers %lld (each holding a shard %lld ms), shards %lld x %lld questions, store %s "
      "(WAL, synchronous=FULL)\n"
      "accepted rationales (committed): %lld in %.2f s = %.0f per second\n"
      "lease latency (as workers saw it): p50 %.2f ms, p99 %.2f ms over %lld leases\n"
      "submissions %lld, errors %lld, workers' exit %d\n"
      "coordinator process: %.2f CPU cores busy on average, peak RSS %.0f MiB\n",
      static_cast<long long>(flags.workers), static_cast<long long>(flags.generate_ms),
      static_cast<long long>(flags.shards),
      static_cast<long long>(flags.shard_size), StateStore::PathIn(dir).c_str(),
      static_cast<long long>(accepted), seconds, accepted / seconds, p50, p99, leases, submissions,
      errors, exit.value_or(-1), cpu / seconds, PeakRssMib());
  (*server)->Shutdown(absl::Seconds(1));
  std::filesystem::remove_all(dir);
  return accepted == flags.shards * flags.shard_size && errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) {
  star::BenchFlags bench;
  star::FlagParser flags("star-bench-coordinator",
                         "Measures the rationales per second one coordinator durably accepts from "
                         "many concurrent simulated workers (no model), lease latency, and the "
                         "coordinator's CPU and memory.");
  flags.AddString("role", &bench.role, "coordinator (measures; starts the workers) or workers");
  flags.AddString("coordinator", &bench.coordinator, "(workers) the coordinator's address");
  flags.AddString("ready-file", &bench.ready_file, "(workers) written once all are registered");
  flags.AddString("result-file", &bench.result_file, "(workers) where the workers' numbers go");
  flags.AddInt("workers", &bench.workers, "concurrent simulated workers (a thread each)", 1, 100000);
  flags.AddInt("shards", &bench.shards, "shards in the pass", 1, 10'000'000);
  flags.AddInt("shard-size", &bench.shard_size, "questions per shard", 1, 10000);
  flags.AddInt("channels", &bench.channels, "gRPC connections the workers share", 1, 10000);
  flags.AddInt("generate-ms", &bench.generate_ms,
               "how long a worker holds each shard before submitting, where it would generate "
               "(0: submit at once, a closed loop that only measures saturation)",
               0, 600000);
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
