#include "cli/run_command.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/local_cluster.h"
#include "cli/operator_connection.h"
#include "coordinator/job_config.h"
#include "model/cuda_devices.h"
#include "flags/flag_parser.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
#include "service/shutdown_signal.h"
#include "star/v1/jobs.grpc.pb.h"
#include "tasks/task_factory.h"

namespace star {
namespace {

const char* PhaseName(star::v1::Phase phase) {
  switch (phase) {
    case star::v1::PHASE_SEED: return "seed";
    case star::v1::PHASE_GENERATE: return "generate";
    case star::v1::PHASE_RATIONALIZE: return "rationalize";
    case star::v1::PHASE_TRAIN: return "train";
    case star::v1::PHASE_EVALUATE: return "evaluate";
    case star::v1::PHASE_DONE: return "done";
    default: return "pending";
  }
}

// How the job's task names and groups its buckets (Task::BucketLabel and the rest); a task this
// build does not know shows its buckets as they are.
class Buckets {
 public:
  explicit Buckets(const star::v1::JobSpec& spec) {
    absl::StatusOr<std::unique_ptr<Task>> task = MakeTask(spec.task());
    if (task.ok()) task_ = *std::move(task);
  }
  std::string Label(const std::string& bucket) const { return task_ ? task_->BucketLabel(bucket) : bucket; }
  std::string Kind() const { return task_ ? task_->BucketKind() : "bucket"; }
  // Accuracy is summed over the buckets the job trains on (for addition: operand lengths
  // min..max_digits); longer held-out lengths measure generalisation and are reported apart.
  bool Trained(const std::string& bucket) const { return !task_ || task_->Trains(bucket); }
  std::string TrainedLabel() const { return task_ ? task_->TrainedLabel() : "all"; }

 private:
  std::unique_ptr<Task> task_;
};

// Buckets in numeric order when they are numbers, else by name.
std::vector<std::string> Ordered(const std::set<std::string>& names) {
  std::vector<std::string> out(names.begin(), names.end());
  std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    int x = 0, y = 0;
    const bool nx = absl::SimpleAtoi(a, &x), ny = absl::SimpleAtoi(b, &y);
    if (nx != ny) return nx;
    return nx ? x < y : a < b;
  });
  return out;
}

double Overall(const star::v1::JobSpec& spec, const star::v1::IterationResult& r) {
  const Buckets buckets(spec);
  uint32_t c = 0, t = 0;
  for (const auto& b : r.accuracy()) {
    if (!buckets.Trained(b.bucket())) continue;
    c += b.correct();
    t += b.total();
  }
  return t ? 100.0 * c / t : 0;
}

std::string TrainedRange(const star::v1::JobSpec& spec) { return Buckets(spec).TrainedLabel(); }

bool Ended(const star::v1::JobStatus& status) {
  return status.state() == star::v1::JOB_STATE_SUCCEEDED ||
         status.state() == star::v1::JOB_STATE_FAILED ||
         status.state() == star::v1::JOB_STATE_CANCELLED;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out.flush());
}

}  // namespace

std::string FormatProgressLine(const star::v1::JobStatus& status) {
  std::string line = absl::StrFormat("iteration %d/%d  %-9s", status.iteration(),
                                     status.spec().iterations(), PhaseName(status.phase()));
  switch (status.phase()) {
    case star::v1::PHASE_SEED:
    case star::v1::PHASE_TRAIN:
      absl::StrAppend(&line, absl::StrFormat(" step %d/%d  loss %.4f  %.0f tokens/s",
                                             status.train_step(), status.train_steps(),
                                             status.train_loss(), status.train_tokens_per_second()));
      break;
    case star::v1::PHASE_GENERATE:
    case star::v1::PHASE_RATIONALIZE:
    case star::v1::PHASE_EVALUATE:
      absl::StrAppend(&line, absl::StrFormat(" shards %d/%d  %.0f tokens/s", status.shards_done(),
                                             status.shards_total(),
                                             status.generate_tokens_per_second()));
      break;
    default:
      absl::StrAppend(&line, " ", star::v1::JobState_Name(status.state()));
  }
  if (!status.results().empty()) {
    const auto& r = status.results(status.results_size() - 1);
    absl::StrAppend(&line, absl::StrFormat("  | iteration %d: %.1f%% on %s", r.iteration(),
                                           Overall(status.spec(), r), TrainedRange(status.spec())));
  }
  return line;
}

namespace {

// Prints a progress line on every change of phase, shard count, results or state, and at most
// one every 2 seconds otherwise; never the same line twice in a row.
class ProgressPrinter {
 public:
  void Show(const star::v1::JobStatus& status) {
    const std::string key = absl::StrCat(status.iteration(), "/", status.phase(), "/",
                                         status.shards_done(), "/", status.results_size(), "/",
                                         status.state());
    if (key == previous_key_ && absl::Now() - previous_time_ < absl::Seconds(2)) return;
    const bool ended = Ended(status);
    std::string line = FormatProgressLine(status);
    if ((!ended || key != previous_key_) && line != previous_line_) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      previous_line_ = std::move(line);
    }
    previous_key_ = key;
    previous_time_ = absl::Now();
  }

 private:
  std::string previous_key_, previous_line_;
  absl::Time previous_time_ = absl::InfinitePast();
};

// Stream endings that another attempt may cure: the coordinator unreachable, restarting,
// shutting down, or watched by too many clients at once. The others (an unknown job, bad
// credentials) would only repeat.
bool Transient(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:  // the server ended the stream before the job ended
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

}  // namespace

void AddFollowFlags(FlagParser& flags, FollowOptions* options) {
  flags.AddDouble("stall-seconds", &options->stall_seconds,
                  "drop the job's stream and open it again when the coordinator has sent "
                  "nothing for this long (it sends the job's status at least every 5 s)",
                  1, 86400);
  flags.AddDouble("give-up-seconds", &options->give_up_seconds,
                  "stop following, exit 1, when nothing has been heard from the coordinator for "
                  "this long",
                  1, 7 * 86400);
}

absl::StatusOr<star::v1::JobStatus> FollowJob(star::v1::Jobs::Stub& stub, const std::string& job_id,
                                              const FollowOptions& options) {
  const absl::Duration stall = absl::Seconds(options.stall_seconds);
  const absl::Duration give_up = absl::Seconds(options.give_up_seconds);
  ProgressPrinter printer;
  star::v1::JobStatus last;
  absl::Time last_heard = absl::Now();
  absl::Duration backoff = absl::Seconds(1);
  while (true) {
    grpc::ClientContext context;
    star::v1::GetJobRequest request;
    request.set_job_id(job_id);
    // The watchdog cancels the stream on Ctrl-C or when it has been silent for `stall`.
    std::atomic<int64_t> heard_ns = absl::ToUnixNanos(absl::Now());
    std::atomic<bool> finished = false, stalled = false, interrupted = false;
    // Started before the call: opening the stream can itself hang (a connection to a stopped
    // coordinator), and cancelling a call that has not started yet is allowed.
    std::thread watchdog([&] {
      while (!finished.load()) {
        if (WaitForShutdownSignal(absl::Milliseconds(200)) != 0) {
          interrupted = true;
          context.TryCancel();
          return;
        }
        if (absl::Now() - absl::FromUnixNanos(heard_ns.load()) > stall) {
          stalled = true;
          context.TryCancel();
          return;
        }
      }
    });
    auto reader = stub.WatchJob(&context, request);
    star::v1::JobStatus status;
    while (reader->Read(&status)) {
      heard_ns = absl::ToUnixNanos(absl::Now());
      last_heard = absl::Now();
      backoff = absl::Seconds(1);
      last = status;
      printer.Show(status);
    }
    grpc::Status rpc = reader->Finish();
    finished = true;
    watchdog.join();
    if (Ended(last)) return last;
    if (interrupted) {
      return absl::UnavailableError(
          absl::StrCat("stopped following job ", job_id, " before it ended (interrupted)"));
    }
    const std::string why =
        stalled ? absl::StrCat("nothing heard from the coordinator for ", absl::FormatDuration(stall))
                : FromGrpcStatus(rpc).ToString();
    if (!stalled && !Transient(rpc)) {
      return absl::Status(FromGrpcStatus(rpc).code(),
                          absl::StrCat("following job ", job_id, ": ", rpc.error_message()));
    }
    if (!options.reconnect) {
      return absl::UnavailableError(
          absl::StrCat("stopped following job ", job_id, " before it ended: ", why));
    }
    if (absl::Now() - last_heard >= give_up) {
      return absl::DeadlineExceededError(absl::StrCat(
          "gave up following job ", job_id, ": nothing heard from the coordinator for ",
          absl::FormatDuration(absl::Trunc(absl::Now() - last_heard, absl::Seconds(1))),
          " (last attempt: ", why, ")"));
    }
    std::fprintf(stderr, "job %s: lost the coordinator's stream (%s); reconnecting in %s\n",
                 job_id.c_str(), why.c_str(), absl::FormatDuration(backoff).c_str());
    std::fflush(stderr);
    if (WaitForShutdownSignal(backoff) != 0) {
      return absl::UnavailableError(
          absl::StrCat("stopped following job ", job_id, " before it ended (interrupted)"));
    }
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
}

std::string FormatResultsTable(const star::v1::JobStatus& status) {
  const Buckets names(status.spec());
  std::set<std::string> seen;
  for (const auto& r : status.results()) {
    for (const auto& b : r.accuracy()) seen.insert(b.bucket());
  }
  // One bucket that is all the questions needs no column of its own.
  const std::vector<std::string> buckets =
      seen == std::set<std::string>{"all"} ? std::vector<std::string>{} : Ordered(seen);
  std::string out = absl::StrFormat("%-5s %7s %7s %6s %7s %7s %7s", "iter", "direct", "ration.",
                                    "steps", "loss", "gen s", "train s");
  // A column is as wide as its bucket's label, at least 6.
  const auto width = [&](const std::string& b) { return std::max<int>(6, names.Label(b).size()); };
  for (const auto& b : buckets) absl::StrAppend(&out, absl::StrFormat(" %*s", width(b), names.Label(b)));
  absl::StrAppend(&out, absl::StrFormat(" %7s\n", TrainedRange(status.spec())));
  for (const auto& r : status.results()) {
    std::map<std::string, double> acc;
    for (const auto& b : r.accuracy()) acc[b.bucket()] = b.total() ? 100.0 * b.correct() / b.total() : 0;
    absl::StrAppend(&out, absl::StrFormat("%-5d %7d %7d %6d %7.4f %7.1f %7.1f", r.iteration(),
                                          r.accepted_direct(), r.accepted_rationalized(),
                                          r.train_steps(), r.train_loss(), r.generate_seconds(),
                                          r.train_seconds()));
    for (const auto& b : buckets) {
      absl::StrAppend(&out, absl::StrFormat(" %*.1f%%", width(b) - 1, acc[b]));
    }
    absl::StrAppend(&out, absl::StrFormat(" %6.1f%%\n", Overall(status.spec(), r)));
  }
  // What each iteration kept, per bucket of the training pool: the mechanism behind the rows
  // above (a length is learned once its questions start being solved).
  std::set<std::string> kept_seen;
  for (const auto& r : status.results()) {
    for (const auto& k : r.kept()) kept_seen.insert(k.bucket());
  }
  const std::vector<std::string> pool_buckets = Ordered(kept_seen);
  if (!pool_buckets.empty()) {
    absl::StrAppend(&out, "\ntraining questions solved (direct + rationalized, of the pool's):\n");
    absl::StrAppend(&out, absl::StrFormat("%-5s", "iter"));
    for (const auto& b : pool_buckets) absl::StrAppend(&out, absl::StrFormat(" %13s", names.Label(b)));
    absl::StrAppend(&out, "\n");
    for (const auto& r : status.results()) {
      if (r.kept().empty()) continue;
      std::map<std::string, const star::v1::BucketKept*> kept;
      for (const auto& k : r.kept()) kept[k.bucket()] = &k;
      absl::StrAppend(&out, absl::StrFormat("%-5d", r.iteration()));
      for (const auto& b : pool_buckets) {
        const star::v1::BucketKept* k = kept[b];
        absl::StrAppend(&out, k == nullptr ? absl::StrFormat(" %13s", "-")
                                           : absl::StrFormat(" %13s", absl::StrFormat(
                                                 "%d+%d/%d", k->direct(), k->rationalized(),
                                                 k->questions())));
      }
      absl::StrAppend(&out, "\n");
    }
  }
  if (!status.results().empty()) {
    const auto& r = status.results(status.results_size() - 1);
    absl::StrAppend(&out, absl::StrFormat("final overall accuracy (iteration %d, %s held-out): %.1f%%\n",
                                          r.iteration(), TrainedRange(status.spec()),
                                          Overall(status.spec(), r)));
  }
  return out;
}

std::string FormatResultsCsv(const star::v1::JobStatus& status) {
  std::string out =
      "iteration,bucket,correct,total,accuracy,accepted_direct,accepted_rationalized,"
      "train_steps,train_loss,generate_seconds,train_seconds,evaluate_seconds,"
      "pool_questions,solved_direct,solved_rationalized\n";
  for (const auto& r : status.results()) {
    std::map<std::string, const star::v1::BucketKept*> kept;
    for (const auto& k : r.kept()) kept[k.bucket()] = &k;
    for (const auto& b : r.accuracy()) {
      const star::v1::BucketKept* k = kept[b.bucket()];
      absl::StrAppend(&out, absl::StrFormat("%d,%s,%d,%d,%.4f,%d,%d,%d,%.4f,%.2f,%.2f,%.2f,%d,%d,%d\n",
                                            r.iteration(), b.bucket(), b.correct(), b.total(),
                                            b.total() ? static_cast<double>(b.correct()) / b.total() : 0,
                                            r.accepted_direct(), r.accepted_rationalized(),
                                            r.train_steps(), r.train_loss(), r.generate_seconds(),
                                            r.train_seconds(), r.evaluate_seconds(),
                                            k ? k->questions() : 0, k ? k->direct() : 0,
                                            k ? k->rationalized() : 0));
    }
  }
  return out;
}

std::string FormatAccuracySvg(const star::v1::JobStatus& status) {
  const Buckets names(status.spec());
  const double width = 640, height = 400, left = 60, right = 120, top = 30, bottom = 50;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  uint32_t max_iter = 1;
  std::map<std::string, std::vector<std::pair<uint32_t, double>>> series;
  for (const auto& r : status.results()) {
    max_iter = std::max(max_iter, r.iteration());
    for (const auto& b : r.accuracy()) {
      series[b.bucket()].push_back({r.iteration(), b.total() ? 100.0 * b.correct() / b.total() : 0});
    }
  }
  auto x = [&](double it) { return left + plot_w * it / max_iter; };
  auto y = [&](double pct) { return top + plot_h * (1 - pct / 100); };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n<text x=\"%.0f\" y=\"18\">%s: accuracy per %s</text>\n",
      width, height, left, status.spec().name(), names.Kind());
  for (int pct = 0; pct <= 100; pct += 20) {
    absl::StrAppend(&svg, absl::StrFormat(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n",
        left, y(pct), left + plot_w, y(pct), left - 6, y(pct) + 4, pct));
  }
  for (uint32_t it = 0; it <= max_iter; ++it) {
    absl::StrAppend(&svg, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n",
                                          x(it), top + plot_h + 18, it));
  }
  absl::StrAppend(&svg, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">iteration</text>\n",
                                        left + plot_w / 2, height - 8));
  const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  int k = 0;
  for (const auto& [bucket, points] : series) {
    const char* color = colors[k % 10];
    std::string path;
    for (const auto& [it, pct] : points) {
      absl::StrAppend(&path, path.empty() ? "M" : " L", absl::StrFormat("%.1f %.1f", x(it), y(pct)));
    }
    absl::StrAppend(&svg, absl::StrFormat("<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                                          path, color));
    for (const auto& [it, pct] : points) {
      absl::StrAppend(&svg, absl::StrFormat("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                                            x(it), y(pct), color));
    }
    absl::StrAppend(&svg, absl::StrFormat(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
        "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
        left + plot_w + 12, top + 16.0 * k, left + plot_w + 32, top + 16.0 * k, color,
        left + plot_w + 36, top + 16.0 * k + 4, names.Label(bucket)));
    ++k;
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

bool WriteResults(const star::v1::JobStatus& status, const std::string& dir) {
  std::string json;
  google::protobuf::util::JsonPrintOptions json_options;
  json_options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(status, &json, json_options);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const bool written = WriteFile(dir + "/results.csv", FormatResultsCsv(status)) &&
                       WriteFile(dir + "/results.json", json) &&
                       WriteFile(dir + "/accuracy.svg", FormatAccuracySvg(status));
  if (written) {
    std::printf("wrote %s/results.csv, results.json, accuracy.svg\n", dir.c_str());
  } else {
    std::fprintf(stderr, "cannot write results into %s\n", dir.c_str());
  }
  return written;
}

int RunWatch(int argc, char** argv) {
  OperatorConnectionFlags connection;
  std::string job_id;
  std::string results_dir;
  FlagParser flags("star watch",
                   "Follows a job on a running coordinator: a progress line per phase (shards, "
                   "tokens/s, loss), then the per-iteration table once it ends.");
  AddOperatorConnectionFlags(flags, &connection);
  flags.AddString("job", &job_id, "job id (default: the coordinator's most recent job)");
  flags.AddString("results-dir", &results_dir,
                  "also write results.csv, results.json and accuracy.svg here at the end");
  FollowOptions follow;
  AddFollowFlags(flags, &follow);
  flags.ParseOrExit(argc, argv, 2);
  std::shared_ptr<grpc::Channel> channel = OperatorChannel("star watch", connection);
  if (channel == nullptr) return 2;
  const std::string& coordinator = connection.coordinator;
  auto stub = star::v1::Jobs::NewStub(channel);
  if (job_id.empty()) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    star::v1::ListJobsResponse jobs;
    grpc::Status rpc = stub->ListJobs(&context, star::v1::ListJobsRequest(), &jobs);
    if (!rpc.ok()) {
      std::fprintf(stderr, "star watch: %s: %s\n", coordinator.c_str(),
                   FromGrpcStatus(rpc).ToString().c_str());
      return 1;
    }
    int64_t newest = -1;
    for (const auto& j : jobs.jobs()) {
      if (j.created_unix_ms() > newest) {
        newest = j.created_unix_ms();
        job_id = j.job_id();
      }
    }
    if (job_id.empty()) {
      std::fprintf(stderr, "star watch: %s has no jobs\n", coordinator.c_str());
      return 1;
    }
  }
  std::printf("job %s on %s\n", job_id.c_str(), coordinator.c_str());
  absl::StatusOr<star::v1::JobStatus> last = FollowJob(*stub, job_id, follow);
  if (!last.ok()) {
    std::fprintf(stderr, "star watch: %s\n", last.status().ToString().c_str());
    return 1;
  }
  std::printf("\n%s", FormatResultsTable(*last).c_str());
  if (!results_dir.empty() && !WriteResults(*last, results_dir)) return 1;
  if (last->state() != star::v1::JOB_STATE_SUCCEEDED) {
    std::fprintf(stderr, "star watch: job ended %s%s%s\n",
                 star::v1::JobState_Name(last->state()).c_str(), last->error().empty() ? "" : ": ",
                 last->error().c_str());
    return 1;
  }
  return 0;
}

absl::StatusOr<int> LocalClusterGpus(const std::string& device) {
  if (device == "cpu") return 0;
  if (device != "auto" && device != "cuda") {
    return absl::InvalidArgumentError(absl::StrCat("'", device.substr(0, 64), "' is not auto, cuda or cpu"));
  }
  const int visible = VisibleCudaDevices();
  if (device == "cuda" && visible == 0) {
    return absl::FailedPreconditionError("'cuda' asks for CUDA devices but this machine has none");
  }
  return visible;
}

int RunRun(int argc, char** argv) {
  std::string job_path;
  LocalClusterOptions options;
  options.bin_dir = ExecutableDirectory();
  options.state_dir = "./star-state";
  int64_t workers = 2;
  std::string device = "auto";
  FlagParser flags("star run",
                   "Runs a STaR job on this machine: starts a coordinator, workers and trainer ranks "
                   "(as many as training.world_size), submits the job, shows its progress, prints "
                   "the per-iteration table and writes results.csv, results.json and accuracy.svg "
                   "into the state directory.");
  flags.AddPositional("JOB.yaml", &job_path, "the job file");
  flags.AddString("state-dir", &options.state_dir, "coordinator state, models, logs and results");
  flags.AddInt("workers", &workers, "worker processes", 1, 256);
  flags.AddString("device", &device,
                  "auto (workers and ranks spread over every visible GPU, else the CPU), cuda "
                  "or cpu");
  flags.AddStringList("data-root", &options.data_roots,
                      "a folder under which the files the job names may lie; repeatable "
                      "(default: the working directory; the state directory always is one)");
  flags.ParseOrExit(argc, argv, 2);
  absl::StatusOr<int> gpus = LocalClusterGpus(device);
  if (!gpus.ok()) flags.ExitWithFlagError("device", gpus.status().message());
  options.cuda_devices = *gpus;
  absl::StatusOr<star::v1::JobSpec> spec = LoadJobFile(job_path);
  if (!spec.ok()) {
    std::fprintf(stderr, "star run: %s\n", std::string(spec.status().message()).c_str());
    return 1;
  }
  options.workers = static_cast<int>(workers);
  options.trainers = static_cast<int>(std::max<uint32_t>(1, spec->training().world_size()));
  std::printf("job %s: starting coordinator, %d worker(s), %d trainer rank(s) on %s; logs in %s\n",
              spec->name().c_str(), options.workers, options.trainers,
              options.cuda_devices > 0 ? absl::StrCat(options.cuda_devices, " GPU(s)").c_str()
                                       : "the CPU",
              options.state_dir.c_str());
  std::fflush(stdout);
  absl::StatusOr<std::unique_ptr<LocalCluster>> cluster = LocalCluster::Start(options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "star run: %s\n", std::string(cluster.status().message()).c_str());
    return 1;
  }
  auto stub = star::v1::Jobs::NewStub(MakeChannel((*cluster)->coordinator_address()));
  star::v1::SubmitJobRequest submit;
  *submit.mutable_spec() = *spec;
  star::v1::SubmitJobResponse submitted;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = stub->SubmitJob(&context, submit, &submitted);
    if (!status.ok()) {
      std::fprintf(stderr, "star run: %s\n", FromGrpcStatus(status).ToString().c_str());
      return 1;
    }
  }
  std::printf("job %s submitted\n", submitted.job_id().c_str());
  // Nobody restarts this coordinator: a broken stream ends the run.
  FollowOptions follow;
  follow.reconnect = false;
  absl::StatusOr<star::v1::JobStatus> followed = FollowJob(*stub, submitted.job_id(), follow);
  if (!followed.ok()) {
    std::fprintf(stderr, "star run: %s\n", followed.status().ToString().c_str());
    (void)(*cluster)->Stop(absl::Seconds(10));
    return 1;
  }
  const star::v1::JobStatus& last = *followed;
  std::printf("\n%s", FormatResultsTable(last).c_str());
  const bool written = WriteResults(last, options.state_dir);
  absl::Status stopped = (*cluster)->Stop(absl::Seconds(10));
  if (!stopped.ok()) std::fprintf(stderr, "star run: unclean stop: %s\n", std::string(stopped.message()).c_str());
  if (last.state() != star::v1::JOB_STATE_SUCCEEDED) {
    std::fprintf(stderr, "star run: job ended %s%s%s\n", star::v1::JobState_Name(last.state()).c_str(),
                 last.error().empty() ? "" : ": ", last.error().c_str());
    return 1;
  }
  return written && stopped.ok() ? 0 : 1;
}

}  // namespace star
