// deploy/grafana/star-dashboard.json: a valid Grafana dashboard model whose every query names
// only metrics the live daemons export (learnt from a scrape of a real coordinator, worker and
// trainer), and whose expressions parse as PromQL (promtool check rules, when promtool is there).

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/daemon_trio.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::DaemonTrio;
using ::star::testing::FindOnPath;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::TempDir;
using Json = nlohmann::json;

const std::string kDashboardPath = std::string(STAR_SOURCE_DIR) + "/deploy/grafana/star-dashboard.json";

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

// The metric names a PromQL expression selects: identifiers that are neither functions (followed
// by "("), keywords or aggregation operators, label names (inside {...} or a
// by/without/on/ignoring/group_* list), strings, numbers, durations nor Grafana variables
// ($x, ${x}).
std::set<std::string> MetricNames(const std::string& expr) {
  // Aggregations may put "by (...)" before their parenthesis: "sum by (le) (x)".
  static const std::set<std::string> kKeywords = {
      "by",     "without", "on",    "ignoring", "group_left", "group_right", "bool",
      "and",    "or",      "unless", "offset",  "atan2",      "inf",         "nan",
      "sum",    "min",     "max",   "avg",      "group",      "stddev",      "stdvar",
      "count",  "count_values", "bottomk", "topk", "quantile"};
  static const std::set<std::string> kLabelLists = {"by",     "without",    "on",
                                                    "ignoring", "group_left", "group_right"};
  std::set<std::string> names;
  size_t i = 0;
  auto skip_until = [&](char close) {
    while (i < expr.size() && expr[i] != close) {
      if (expr[i] == '"' || expr[i] == '\'' || expr[i] == '`') {
        char quote = expr[i++];
        while (i < expr.size() && expr[i] != quote) i += expr[i] == '\\' ? 2 : 1;
      }
      ++i;
    }
    ++i;
  };
  while (i < expr.size()) {
    char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      ++i;
      while (i < expr.size() && expr[i] != c) i += expr[i] == '\\' ? 2 : 1;
      ++i;
    } else if (c == '{') {
      ++i;
      skip_until('}');
    } else if (c == '[') {
      ++i;
      skip_until(']');
    } else if (c == '$') {
      ++i;
      if (i < expr.size() && expr[i] == '{') {
        skip_until('}');
      } else {
        while (i < expr.size() && IsNameChar(expr[i])) ++i;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      while (i < expr.size() && (IsNameChar(expr[i]) || expr[i] == '.')) ++i;
    } else if (IsNameStart(c)) {
      size_t start = i;
      while (i < expr.size() && IsNameChar(expr[i])) ++i;
      std::string word = expr.substr(start, i - start);
      size_t next = i;
      while (next < expr.size() && std::isspace(static_cast<unsigned char>(expr[next]))) ++next;
      const bool call = next < expr.size() && expr[next] == '(';
      if (call && kLabelLists.contains(word)) {
        i = next + 1;
        skip_until(')');
      } else if (!call && !kKeywords.contains(word)) {
        names.insert(word);
      }
    } else {
      ++i;
    }
  }
  return names;
}

TEST(DashboardMetricNamesTest, ExtractorFindsMetricsAndNothingElse) {
  EXPECT_EQ(MetricNames("histogram_quantile(0.95, sum by (le, kind) "
                        "(rate(star_a_bucket{job=~\"$job\", x=\"by(y)\"}[$__rate_interval])))"),
            (std::set<std::string>{"star_a_bucket"}));
  EXPECT_EQ(MetricNames("sum(rate(a_total[5m])) / on(instance) group_left(x) b offset 1h"),
            (std::set<std::string>{"a_total", "b"}));
  EXPECT_EQ(MetricNames("label_replace(max by (iteration) (q{j=\"$x\"}), \"o\", \"n r\", \"\", \"\")"),
            (std::set<std::string>{"q"}));
  EXPECT_EQ(MetricNames("max(m) by (le) == bool 1 and n unless ${v}"),
            (std::set<std::string>{"m", "n"}));
}

// Every name a scrape of `page` shows, histograms with their _bucket, _sum and _count series.
std::set<std::string> ExportedNames(const std::string& page) {
  std::set<std::string> names;
  for (absl::string_view line : absl::StrSplit(page, '\n')) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() != 4 || fields[0] != "#" || fields[1] != "TYPE") continue;
    names.insert(fields[2]);
    if (fields[3] == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(fields[2] + suffix);
    }
  }
  return names;
}

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(kDashboardPath);
    ASSERT_TRUE(in) << kDashboardPath;
    dashboard_ = Json::parse(in, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(dashboard_.is_discarded()) << kDashboardPath << " is not JSON";
  }

  // (panel title, PromQL expression) of every query in every panel, rows' nested panels
  // included, and of every query variable.
  std::vector<std::pair<std::string, std::string>> Queries() const {
    std::vector<std::pair<std::string, std::string>> queries;
    std::vector<const Json*> panels;
    for (const Json& p : dashboard_["panels"]) {
      panels.push_back(&p);
      if (p.contains("panels")) {
        for (const Json& nested : p["panels"]) panels.push_back(&nested);
      }
    }
    for (const Json* p : panels) {
      for (const Json& t : p->value("targets", Json::array())) {
        queries.emplace_back(p->value("title", "?"), t.value("expr", ""));
      }
    }
    for (const Json& v : dashboard_["templating"]["list"]) {
      if (v.value("type", "") != "query") continue;
      // Grafana's label_values(SELECTOR, LABEL): the selector is PromQL.
      std::string query = v["query"].value("query", "");
      const std::string prefix = "label_values(";
      if (query.starts_with(prefix) && query.ends_with(")") && query.rfind(',') != std::string::npos) {
        query = query.substr(prefix.size(), query.rfind(',') - prefix.size());
      }
      queries.emplace_back("variable " + v.value("name", "?"), query);
    }
    return queries;
  }

  Json dashboard_;
};

TEST_F(DashboardTest, IsAGrafanaDashboardModelWithGriddedPanelsAndTargets) {
  ASSERT_TRUE(dashboard_["schemaVersion"].is_number_integer());
  EXPECT_GE(dashboard_["schemaVersion"].get<int>(), 30);
  EXPECT_EQ(dashboard_.value("uid", ""), "star-operations");
  EXPECT_FALSE(dashboard_.value("title", "").empty());
  std::map<std::string, std::string> variables;
  for (const Json& v : dashboard_["templating"]["list"]) {
    variables[v.value("name", "")] = v.value("type", "");
  }
  EXPECT_EQ(variables["datasource"], "datasource");
  EXPECT_EQ(variables["job"], "query");
  ASSERT_TRUE(dashboard_["panels"].is_array());
  ASSERT_FALSE(dashboard_["panels"].empty());
  std::set<int> ids;
  struct Box {
    int x, y, w, h;
    std::string title;
  };
  std::vector<Box> boxes;
  for (const Json& p : dashboard_["panels"]) {
    const std::string title = p.value("title", "");
    SCOPED_TRACE(title);
    ASSERT_TRUE(p.contains("id") && p["id"].is_number_integer());
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate id";
    ASSERT_TRUE(p.contains("gridPos"));
    const Json& g = p["gridPos"];
    for (const char* k : {"x", "y", "w", "h"}) ASSERT_TRUE(g.contains(k) && g[k].is_number_integer()) << k;
    Box box{g["x"], g["y"], g["w"], g["h"], title};
    EXPECT_GE(box.x, 0);
    EXPECT_GT(box.w, 0);
    EXPECT_GT(box.h, 0);
    EXPECT_LE(box.x + box.w, 24) << "wider than the grid";
    for (const Box& other : boxes) {
      bool apart = box.x + box.w <= other.x || other.x + other.w <= box.x ||
                   box.y + box.h <= other.y || other.y + other.h <= box.y;
      EXPECT_TRUE(apart) << "overlaps " << other.title;
    }
    boxes.push_back(box);
    if (p.value("type", "") == "row") continue;
    ASSERT_TRUE(p.contains("targets") && p["targets"].is_array() && !p["targets"].empty());
    EXPECT_EQ(p["datasource"].value("uid", ""), "${datasource}");
    std::set<std::string> refs;
    for (const Json& t : p["targets"]) {
      EXPECT_FALSE(t.value("expr", "").empty());
      EXPECT_TRUE(refs.insert(t.value("refId", "")).second) << "duplicate refId";
    }
  }
}

TEST_F(DashboardTest, EveryQueryNamesOnlyMetricsTheLiveDaemonsExport) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<DaemonTrio>> trio = DaemonTrio::Start(dir);
  ASSERT_TRUE(trio.ok()) << trio.status();
  std::set<std::string> exported;
  for (const auto& [daemon, port] : (*trio)->metrics_ports()) {
    absl::StatusOr<testing::HttpResponse> response = testing::HttpRequest(port, "GET", "/metrics");
    ASSERT_TRUE(response.ok()) << daemon << ": " << response.status();
    std::set<std::string> names = ExportedNames(response->body);
    EXPECT_FALSE(names.empty()) << daemon;
    exported.insert(names.begin(), names.end());
  }
  EXPECT_TRUE((*trio)->Stop().ok()) << (*trio)->Logs();

  std::set<std::string> used;
  for (const auto& [title, expr] : Queries()) {
    std::set<std::string> names = MetricNames(expr);
    EXPECT_FALSE(names.empty()) << title << ": " << expr;
    for (const std::string& name : names) {
      EXPECT_TRUE(exported.contains(name)) << title << ": " << name << " is not exported";
      used.insert(name);
    }
  }
  // The panels the operators' view is for.
  for (const char* name :
       {"star_job_heldout_accuracy_ratio", "star_job_rationales_kept", "star_coordinator_shards",
        "star_worker_generated_tokens_total", "star_trainer_loss",
        "star_trainer_step_duration_seconds_bucket", "star_trainer_allreduce_duration_seconds_bucket",
        "star_coordinator_shard_leases_expired_total"}) {
    EXPECT_TRUE(used.contains(name)) << "no panel shows " << name;
  }
}

TEST_F(DashboardTest, EveryQueryParsesAsPromQl) {
  std::string promtool = FindOnPath("promtool");
  if (promtool.empty()) {
    GTEST_SKIP() << "promtool is not on PATH (Debian package 'prometheus'; "
                    "scripts/install-deps.sh installs it)";
  }
  // Recording rules are the one place promtool parses expressions offline. Grafana's variables
  // become what they stand for.
  std::string rules = "groups:\n  - name: star-dashboard\n    rules:\n";
  int n = 0;
  for (const auto& [title, expr] : Queries()) {
    std::string promql = absl::StrReplaceAll(
        expr, {{"$__rate_interval", "1m"}, {"$star_job", ".*"}, {"$job", ".*"}});
    absl::StrAppend(&rules, "      - record: star_dashboard_query_", n++, "\n        expr: ",
                    Json(promql).dump(), "\n");
  }
  TempDir dir;
  std::ofstream(dir.File("rules.yaml")) << rules;
  auto [status, output] = RunCommand({promtool, "check", "rules", dir.File("rules.yaml")}, dir);
  EXPECT_EQ(status, 0) << output << "\n" << rules;
}

}  // namespace
}  // namespace star
