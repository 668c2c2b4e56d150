// Live daemons' /metrics: a real coordinator, worker and trainer (processes on loopback ports
// chosen by the OS) run a tiny STaR job; each /metrics page, idle and after the job, must pass
// `promtool check metrics` without a finding and carry the metrics docs/operations.md lists.

#include <signal.h>

#include <fstream>
#include <map>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "coordinator/job_config.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/health_client.h"
#include "star/v1/jobs.grpc.pb.h"
#include "tests/daemon_trio.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::DaemonTrio;
using ::star::testing::FindOnPath;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::TempDir;

// Runs `promtool check metrics` on `page`; returns (exit status, everything it printed).
std::pair<int, std::string> Promtool(const std::string& promtool, const std::string& page,
                                     const TempDir& dir, const std::string& name) {
  std::string path = dir.File(name + ".prom");
  {
    std::ofstream out(path);
    out << page;
  }
  return RunCommand({"/bin/sh", "-c", absl::StrCat("'", promtool, "' check metrics < '", path, "'")},
                    dir);
}

// The value of the sample `series` (name and labels exactly as rendered); nullopt if absent.
std::optional<double> Value(const std::string& page, const std::string& series) {
  size_t at = page.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  size_t start = at + series.size() + 2;
  double value = 0;
  if (!absl::SimpleAtod(page.substr(start, page.find('\n', start) - start), &value)) {
    return std::nullopt;
  }
  return value;
}

const std::vector<std::string> kCoordinatorFamilies = {
    "star_build_info",
    "star_coordinator_lease_shard_duration_seconds",
    "star_coordinator_shard_results_total",
    "star_coordinator_questions_attempted_total",
    "star_coordinator_samples_verified_total",
    "star_coordinator_shards",
    "star_coordinator_shard_leases_expired_total",
    "star_coordinator_workers",
    "star_coordinator_trainers",
    "star_coordinator_rounds",
    "star_coordinator_rounds_ended_total",
    "star_job_state",
    "star_job_phase",
    "star_job_iteration",
    "star_job_questions_attempted",
    "star_job_rationales_kept",
    "star_job_questions_rejected",
    "star_job_heldout_accuracy_ratio",
    "star_job_train_loss",
    "star_job_phase_duration_seconds",
};
const std::vector<std::string> kWorkerFamilies = {
    "star_build_info",
    "star_worker_registered",
    "star_worker_lease_requests_total",
    "star_worker_shards_processed_total",
    "star_worker_shard_duration_seconds",
    "star_worker_generation_duration_seconds",
    "star_worker_generated_tokens_total",
    "star_worker_samples_verified_total",
    "star_worker_checkpoint_load_duration_seconds",
};
const std::vector<std::string> kTrainerFamilies = {
    "star_build_info",
    "star_trainer_join_requests_total",
    "star_trainer_in_round",
    "star_trainer_rank",
    "star_trainer_world_size",
    "star_trainer_loss",
    "star_trainer_tokens_per_second",
    "star_trainer_steps_total",
    "star_trainer_tokens_total",
    "star_trainer_step_duration_seconds",
    "star_trainer_allreduce_duration_seconds",
    "star_trainer_round_duration_seconds",
};

class MetricsScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    promtool_ = FindOnPath("promtool");
    if (promtool_.empty()) {
      STAR_SKIP_FOR_MISSING_TOOL("promtool is not on PATH (Debian package 'prometheus'; "
                                 "scripts/install-deps.sh installs it)");
    }
  }

  // Scrapes every daemon, checks the response and promtool's verdict, and returns the pages.
  std::map<std::string, std::string> ScrapeAndCheck(const DaemonTrio& trio,
                                                    const std::string& when) {
    std::map<std::string, std::string> pages;
    for (const auto& [daemon, port] : trio.metrics_ports()) {
      absl::StatusOr<testing::HttpResponse> response =
          testing::HttpRequest(port, "GET", "/metrics");
      EXPECT_TRUE(response.ok()) << daemon << ": " << response.status();
      if (!response.ok()) continue;
      EXPECT_EQ(response->status, 200) << daemon;
      EXPECT_EQ(response->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
      auto [status, findings] = Promtool(promtool_, response->body, dir_, daemon + "-" + when);
      EXPECT_EQ(status, 0) << daemon << " (" << when << "): " << findings << "\n" << response->body;
      EXPECT_EQ(findings, "") << daemon << " (" << when << ")";
      pages[daemon] = response->body;
    }
    return pages;
  }

  TempDir dir_;
  std::string promtool_;
};

TEST_F(MetricsScrapeTest, LiveDaemonsPassPromtoolIdleAndAfterAJob) {
  absl::StatusOr<std::unique_ptr<DaemonTrio>> trio = DaemonTrio::Start(dir_);
  ASSERT_TRUE(trio.ok()) << trio.status();

  std::map<std::string, std::string> idle = ScrapeAndCheck(**trio, "idle");
  ASSERT_EQ(idle.size(), 3u);
  for (const auto& [daemon, families] :
       std::map<std::string, std::vector<std::string>>{{"coordinator", kCoordinatorFamilies},
                                                       {"worker", kWorkerFamilies},
                                                       {"trainer", kTrainerFamilies}}) {
    for (const std::string& family : families) {
      EXPECT_NE(idle[daemon].find("# TYPE " + family + " "), std::string::npos)
          << daemon << " does not export " << family;
    }
    EXPECT_NE(idle[daemon].find("star_build_info{daemon=\"" + daemon + "\""), std::string::npos);
  }

  absl::StatusOr<star::v1::JobSpec> spec = ParseJobYaml(testing::TinyJobYaml(), "tiny-job");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto jobs = star::v1::Jobs::NewStub(MakeChannel((*trio)->coordinator_address()));
  star::v1::SubmitJobRequest submit;
  *submit.mutable_spec() = *spec;
  star::v1::SubmitJobResponse submitted;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ASSERT_TRUE(jobs->SubmitJob(&context, submit, &submitted).ok());
  }
  {
    // The job's state, phase and iteration are there as soon as it is submitted.
    absl::StatusOr<testing::HttpResponse> page =
        testing::HttpRequest((*trio)->metrics_ports().at("coordinator"), "GET", "/metrics");
    ASSERT_TRUE(page.ok()) << page.status();
    const std::string job = "{job_id=\"" + submitted.job_id() + "\"";
    for (const std::string& series :
         {"star_job_state" + job + ",state=\"", "star_job_phase" + job + ",phase=\"",
          "star_job_iteration" + job + "} "}) {
      EXPECT_NE(page->body.find("\n" + series), std::string::npos) << series << "\n" << page->body;
    }
  }
  // WatchJob streams every change; the last one is the end.
  star::v1::JobStatus last;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(400));
    star::v1::GetJobRequest request;
    request.set_job_id(submitted.job_id());
    auto reader = jobs->WatchJob(&context, request);
    star::v1::JobStatus status;
    while (reader->Read(&status)) last = status;
    reader->Finish();
  }
  ASSERT_EQ(last.state(), star::v1::JOB_STATE_SUCCEEDED)
      << last.error() << "\n" << (*trio)->Logs();

  std::map<std::string, std::string> after = ScrapeAndCheck(**trio, "after-job");
  ASSERT_EQ(after.size(), 3u);
  const std::string& c = after["coordinator"];
  const std::string job = "job_id=\"" + submitted.job_id() + "\"";
  EXPECT_EQ(Value(c, "star_job_state{" + job + ",state=\"succeeded\"}"), 1) << c;
  EXPECT_EQ(Value(c, "star_job_iteration{" + job + "}"), 1);
  for (const char* iteration : {"0", "1"}) {
    for (const char* bucket : {"1", "2"}) {
      std::optional<double> accuracy =
          Value(c, absl::StrCat("star_job_heldout_accuracy_ratio{", job, ",iteration=\"",
                                iteration, "\",bucket=\"", bucket, "\"}"));
      ASSERT_TRUE(accuracy.has_value()) << iteration << "/" << bucket << "\n" << c;
      EXPECT_GE(*accuracy, 0);
      EXPECT_LE(*accuracy, 1);
    }
  }
  EXPECT_EQ(Value(c, "star_job_questions_attempted{" + job + ",iteration=\"1\"}"), 8);
  // Series that must be on the page with at least `minimum`, checked before they are read.
  auto expect_at_least = [](const std::string& page, const std::string& series, double minimum) {
    std::optional<double> value = Value(page, series);
    ASSERT_TRUE(value.has_value()) << series << " is not on the page:\n" << page;
    EXPECT_GE(*value, minimum) << series;
  };
  expect_at_least(c, "star_coordinator_lease_shard_duration_seconds_count{outcome=\"leased\"}",
                  1);
  expect_at_least(c, "star_coordinator_questions_attempted_total{kind=\"evaluate\"}", 1);
  expect_at_least(c, "star_coordinator_rounds_ended_total{outcome=\"succeeded\"}", 1);
  // Bucket bounds in positional notation, up to 120 s (beyond the 30 s long-poll).
  for (const char* le : {"0.001", "0.0025", "30", "60", "120", "+Inf"}) {
    EXPECT_TRUE(Value(c, absl::StrCat("star_coordinator_lease_shard_duration_seconds_bucket{"
                                      "outcome=\"leased\",le=\"", le, "\"}"))
                    .has_value())
        << le << "\n" << c;
  }
  EXPECT_EQ(Value(c, "star_coordinator_workers"), 1);
  EXPECT_EQ(Value(c, "star_coordinator_trainers"), 1);

  const std::string& w = after["worker"];
  EXPECT_EQ(Value(w, "star_worker_registered"), 1);
  expect_at_least(w, "star_worker_generated_tokens_total{kind=\"generate\"}", 1);
  expect_at_least(w, "star_worker_generation_duration_seconds_count{kind=\"evaluate\"}", 1);
  expect_at_least(
      w, "star_worker_shards_processed_total{kind=\"generate\",outcome=\"submitted\"}", 1);
  // M0, and M1 when iteration 1 trained one (see the trainer's steps below).
  std::optional<double> loads = Value(w, "star_worker_checkpoint_load_duration_seconds_count");
  ASSERT_TRUE(loads.has_value()) << w;
  EXPECT_GE(*loads, 1);

  const std::string& t = after["trainer"];
  // Seed round (20 steps) and iteration 1's round (5 steps), unless the iteration kept too few
  // rationales to train, in which case only the seed round ran.
  std::optional<double> steps = Value(t, "star_trainer_steps_total");
  ASSERT_TRUE(steps.has_value()) << t;
  EXPECT_TRUE(*steps == 20 || *steps == 25) << *steps;
  EXPECT_EQ(*loads, *steps == 25 ? 2 : 1);
  EXPECT_EQ(Value(t, "star_trainer_step_duration_seconds_count"), *steps);
  EXPECT_EQ(Value(t, "star_trainer_allreduce_duration_seconds_count"), *steps);
  EXPECT_TRUE(
      Value(t, "star_trainer_allreduce_duration_seconds_bucket{le=\"0.0005\"}").has_value())
      << t;
  std::optional<double> loss = Value(t, "star_trainer_loss");
  ASSERT_TRUE(loss.has_value()) << t;
  EXPECT_GT(*loss, 0);
  std::optional<double> tokens_per_second = Value(t, "star_trainer_tokens_per_second");
  ASSERT_TRUE(tokens_per_second.has_value()) << t;
  EXPECT_GT(*tokens_per_second, 0);
  EXPECT_EQ(Value(t, "star_trainer_world_size"), 1);
  EXPECT_EQ(Value(t, "star_trainer_in_round"), 0);
  expect_at_least(t, "star_trainer_round_duration_seconds_count{outcome=\"succeeded\"}", 1);

  EXPECT_TRUE((*trio)->Stop().ok()) << (*trio)->Logs();
}

}  // namespace
}  // namespace star
