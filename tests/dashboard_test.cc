// deploy/grafana/star-dashboard.json: a valid Grafana dashboard model whose every query names
// only metrics, and only labels of those metrics, that the live daemons export (learnt from a
// scrape of a real coordinator, worker and trainer after a tiny job), and whose expressions parse
// as PromQL (promtool check rules; promtool missing skips that test, or fails it under CI).

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
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

// The label names a PromQL expression relies on: those its selectors match on, per metric
// ("m{a=\"x\", b!~\"y\"}" -> m: {a, b}), and those of its by/without/on/ignoring/group_* lists.
struct LabelUses {
  std::map<std::string, std::set<std::string>> matchers;
  std::set<std::string> grouping;
};

LabelUses UsedLabels(const std::string& expr) {
  static const std::set<std::string> kLabelLists = {"by",       "without",    "on",
                                                    "ignoring", "group_left", "group_right"};
  LabelUses uses;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
  };
  auto read_name = [&] {
    size_t start = i;
    while (i < expr.size() && IsNameChar(expr[i])) ++i;
    return expr.substr(start, i - start);
  };
  auto skip_string = [&] {
    char quote = expr[i++];
    while (i < expr.size() && expr[i] != quote) i += expr[i] == '\\' ? 2 : 1;
    ++i;
  };
  // At '{': the label names of the matchers up to the closing '}'.
  auto read_matchers = [&](std::set<std::string>* names) {
    ++i;
    while (i < expr.size() && expr[i] != '}') {
      skip_space();
      if (i < expr.size() && IsNameStart(expr[i])) {
        names->insert(read_name());
      } else if (i < expr.size() && (expr[i] == '"' || expr[i] == '\'' || expr[i] == '`')) {
        skip_string();
      } else {
        ++i;
      }
    }
    ++i;
  };
  std::string last_name;  // the identifier just before, if nothing else came between
  while (i < expr.size()) {
    char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      skip_string();
      last_name.clear();
    } else if (c == '{') {
      read_matchers(&uses.matchers[last_name]);
      last_name.clear();
    } else if (c == '$') {
      ++i;
      if (i < expr.size() && expr[i] == '{') {
        while (i < expr.size() && expr[i] != '}') ++i;
        ++i;
      } else {
        read_name();
      }
      last_name.clear();
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      while (i < expr.size() && (IsNameChar(expr[i]) || expr[i] == '.')) ++i;
      last_name.clear();
    } else if (IsNameStart(c)) {
      std::string word = read_name();
      skip_space();
      if (kLabelLists.contains(word) && i < expr.size() && expr[i] == '(') {
        ++i;
        while (i < expr.size() && expr[i] != ')') {
          skip_space();
          if (i < expr.size() && IsNameStart(expr[i])) {
            uses.grouping.insert(read_name());
          } else {
            ++i;
          }
        }
        ++i;
        last_name.clear();
      } else {
        last_name = word;
      }
    } else {
      ++i;
      last_name.clear();
    }
  }
  // Matchers of a bare selector ("{__name__=...}") are left out: no metric to check them on.
  uses.matchers.erase("");
  return uses;
}

TEST(DashboardMetricNamesTest, LabelExtractorFindsMatcherAndGroupingLabels) {
  LabelUses uses = UsedLabels(
      "histogram_quantile(0.95, sum by (le, kind) (rate(star_a_bucket{job=~\"$job\", "
      "x=\"by(y) {z=1}\"}[$__rate_interval]))) / on(instance) group_left(origin) b{c!=\"\"} "
      "+ max without (w) (d)");
  EXPECT_EQ(uses.matchers, (std::map<std::string, std::set<std::string>>{
                               {"star_a_bucket", {"job", "x"}}, {"b", {"c"}}}));
  EXPECT_EQ(uses.grouping, (std::set<std::string>{"le", "kind", "instance", "origin", "w"}));
  EXPECT_TRUE(UsedLabels("max(m) by (iteration)").grouping.contains("iteration"));
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

// Every series name a scrape of `page` shows (histograms as _bucket, _sum and _count) with the
// label names its samples carry.
std::map<std::string, std::set<std::string>> ExportedLabels(const std::string& page) {
  std::map<std::string, std::set<std::string>> labels;
  for (absl::string_view line : absl::StrSplit(page, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    size_t end = line.find_first_of("{ ");
    if (end == absl::string_view::npos) continue;
    std::set<std::string>& names = labels[std::string(line.substr(0, end))];
    if (line[end] != '{') continue;
    // name="value",... with \\, \" and \n escapes in the values.
    size_t i = end + 1;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      if (eq == absl::string_view::npos) break;
      names.insert(std::string(line.substr(i, eq - i)));
      i = eq + 2;  // past ="
      while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
      ++i;  // past the closing quote
      if (i < line.size() && line[i] == ',') ++i;
    }
  }
  return labels;
}

TEST(DashboardMetricNamesTest, ExportedLabelsReadSampleLines) {
  std::map<std::string, std::set<std::string>> labels = ExportedLabels(
      "# HELP a_total A.\n# TYPE a_total counter\na_total{kind=\"x,y\\\"}\",outcome=\"z\"} 1\n"
      "b 2\nh_bucket{le=\"0.5\"} 3\n");
  EXPECT_EQ(labels["a_total"], (std::set<std::string>{"kind", "outcome"}));
  EXPECT_EQ(labels["b"], std::set<std::string>{});
  EXPECT_EQ(labels["h_bucket"], std::set<std::string>{"le"});
  EXPECT_EQ(labels.size(), 3u);
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
  EXPECT_EQ(variables["star_job"], "query");
  for (const Json& v : dashboard_["templating"]["list"]) {
    // The job panels aggregate without job_id: they must see one STaR job at a time.
    if (v.value("name", "") == "star_job") {
      EXPECT_FALSE(v.value("includeAll", true));
      EXPECT_FALSE(v.value("multi", true));
    }
  }
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

TEST_F(DashboardTest, EveryQueryNamesOnlyMetricsAndLabelsTheLiveDaemonsExport) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<DaemonTrio>> trio = DaemonTrio::Start(dir);
  ASSERT_TRUE(trio.ok()) << trio.status();
  // A tiny job first, so that the per-job and per-iteration series (and their labels) exist.
  std::ofstream(dir.File("job.yaml")) << testing::TinyJobYaml();
  auto [status, output] =
      RunCommand({testing::BinaryPath("star"), "submit", dir.File("job.yaml"), "--coordinator",
                  (*trio)->coordinator_address(), "--watch"},
                 dir, absl::Seconds(400));
  ASSERT_EQ(status, 0) << output << "\n" << (*trio)->Logs();
  std::set<std::string> exported;
  std::map<std::string, std::set<std::string>> labels;
  for (const auto& [daemon, port] : (*trio)->metrics_ports()) {
    absl::StatusOr<testing::HttpResponse> response = testing::HttpRequest(port, "GET", "/metrics");
    ASSERT_TRUE(response.ok()) << daemon << ": " << response.status();
    std::set<std::string> names = ExportedNames(response->body);
    EXPECT_FALSE(names.empty()) << daemon;
    exported.insert(names.begin(), names.end());
    for (const auto& [name, label_names] : ExportedLabels(response->body)) {
      labels[name].insert(label_names.begin(), label_names.end());
    }
  }
  EXPECT_TRUE((*trio)->Stop().ok()) << (*trio)->Logs();

  // Labels Prometheus adds to every scraped series.
  const std::set<std::string> kTargetLabels = {"job", "instance"};
  // Series the tiny job may leave without a sample: iteration 1 trains (and reports a final
  // loss) only when it kept enough rationales.
  const std::set<std::string> kMayBeAbsent = {"star_job_train_loss"};
  std::set<std::string> used;
  for (const auto& [title, expr] : Queries()) {
    SCOPED_TRACE(title + ": " + expr);
    std::set<std::string> names = MetricNames(expr);
    EXPECT_FALSE(names.empty());
    std::set<std::string> available = kTargetLabels;
    bool all_have_series = true;
    for (const std::string& name : names) {
      EXPECT_TRUE(exported.contains(name)) << name << " is not exported";
      used.insert(name);
      if (!labels.contains(name)) {
        EXPECT_TRUE(kMayBeAbsent.contains(name)) << name << " has no series after a job";
        all_have_series = false;
        continue;
      }
      available.insert(labels[name].begin(), labels[name].end());
    }
    LabelUses uses = UsedLabels(expr);
    for (const auto& [name, matched] : uses.matchers) {
      if (!labels.contains(name)) continue;
      for (const std::string& label : matched) {
        EXPECT_TRUE(labels[name].contains(label) || kTargetLabels.contains(label))
            << name << " has no label " << label;
      }
    }
    // Grouping labels can only be judged when every metric of the query has series to show.
    for (const std::string& label : all_have_series ? uses.grouping : std::set<std::string>{}) {
      EXPECT_TRUE(available.contains(label)) << "no series of the query has a label " << label;
    }
  }
  // Variables: label_values(SELECTOR, LABEL) needs LABEL on the selected series.
  for (const Json& v : dashboard_["templating"]["list"]) {
    std::string query = v.value("type", "") == "query" ? v["query"].value("query", "") : "";
    if (!query.starts_with("label_values(") || query.rfind(',') == std::string::npos) continue;
    std::string label(absl::StripAsciiWhitespace(
        query.substr(query.rfind(',') + 1, query.size() - query.rfind(',') - 2)));
    for (const std::string& name : MetricNames(query.substr(0, query.rfind(',')))) {
      EXPECT_TRUE(labels[name].contains(label) || kTargetLabels.contains(label))
          << "variable " << v.value("name", "") << ": " << name << " has no label " << label;
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
    STAR_SKIP_FOR_MISSING_TOOL("promtool is not on PATH (Debian package 'prometheus'; "
                               "scripts/install-deps.sh installs it)");
  }
  // Recording rules are the one place promtool parses expressions offline. Grafana's variables
  // become what they stand for.
  std::string rules = "groups:\n  - name: star-dashboard\n    rules:\n";
  int n = 0;
  for (const auto& [title, expr] : Queries()) {
    std::string promql = absl::StrReplaceAll(
        expr,
        {{"$__rate_interval", "1m"}, {"$__range", "6h"}, {"$star_job", ".*"}, {"$job", ".*"}});
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
