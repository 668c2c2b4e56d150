// The /metrics server over real HTTP on a loopback port chosen by the OS.

#include "metrics/metrics_http_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "metrics/exposition_format.h"
#include "metrics/metric_registry.h"
#include "metrics/metrics_flags.h"
#include "tests/test_environment.h"

namespace star::metrics {
namespace {

using ::star::testing::HttpRequest;
using ::star::testing::HttpResponse;

TEST(MetricsHttpServerTest, GetMetricsServesTheRegistryAsExpositionText) {
  MetricRegistry registry;
  Counter& scraped = registry.AddCounter("star_test_events_total", "Events.").Get();
  scraped.Increment(7);
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("127.0.0.1", 0, &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  absl::StatusOr<HttpResponse> response = HttpRequest((*server)->port(), "GET", "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response->headers["content-length"], std::to_string(response->body.size()));
  EXPECT_EQ(response->body, registry.Render());
  EXPECT_NE(response->body.find("star_test_events_total 7\n"), std::string::npos);

  // Every scrape renders afresh.
  scraped.Increment();
  response = HttpRequest((*server)->port(), "GET", "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_NE(response->body.find("star_test_events_total 8\n"), std::string::npos);
}

TEST(MetricsHttpServerTest, HeadHasTheHeadersAndNoBody) {
  MetricRegistry registry;
  registry.AddGauge("star_test_level", "Level.").Get().Set(1);
  auto server = MetricsHttpServer::Start("127.0.0.1", 0, &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<HttpResponse> response = HttpRequest((*server)->port(), "HEAD", "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], kExpositionContentType);
  EXPECT_EQ(response->body, "");
}

TEST(MetricsHttpServerTest, OtherPathsAre404AndOtherMethods405) {
  MetricRegistry registry;
  auto server = MetricsHttpServer::Start("127.0.0.1", 0, &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  for (const char* path : {"/", "/metricsx", "/metrics/", "/index.html"}) {
    absl::StatusOr<HttpResponse> response = HttpRequest((*server)->port(), "GET", path);
    ASSERT_TRUE(response.ok()) << path << ": " << response.status();
    EXPECT_EQ(response->status, 404) << path;
  }
  absl::StatusOr<HttpResponse> post = HttpRequest((*server)->port(), "POST", "/metrics");
  ASSERT_TRUE(post.ok()) << post.status();
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->headers["allow"], "GET, HEAD");
}

TEST(MetricsHttpServerTest, QueryStringIsIgnored) {
  MetricRegistry registry;
  registry.AddGauge("star_test_level", "Level.").Get().Set(2);
  auto server = MetricsHttpServer::Start("127.0.0.1", 0, &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<HttpResponse> response =
      HttpRequest((*server)->port(), "GET", "/metrics?name[]=star_test_level");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("star_test_level 2\n"), std::string::npos);
}

TEST(MetricsHttpServerTest, RequestLineThatIsNotHttpIsBadRequest) {
  MetricRegistry registry;
  auto server = MetricsHttpServer::Start("127.0.0.1", 0, &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  // HttpRequest writes "METHOD PATH HTTP/1.1": a space inside the path breaks the line.
  absl::StatusOr<HttpResponse> response = HttpRequest((*server)->port(), "GET", "/metrics x");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 400);
}

TEST(MetricsHttpServerTest, SilentClientHoldsUpNeitherScrapesNorStop) {
  MetricRegistry registry;
  auto server = MetricsHttpServer::Start("127.0.0.1", 0, &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  // A client that connects and sends nothing (a TCP probe, a stuck scraper).
  int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>((*server)->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(silent, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  absl::StatusOr<HttpResponse> response =
      HttpRequest((*server)->port(), "GET", "/metrics", absl::Seconds(2));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  absl::Time start = absl::Now();
  server->reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  ::close(silent);
}

TEST(MetricsHttpServerTest, BusyPortIsUnavailableNamingTheAddress) {
  MetricRegistry registry;
  auto first = MetricsHttpServer::Start("127.0.0.1", 0, &registry);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsHttpServer::Start("127.0.0.1", (*first)->port(), &registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("cannot serve metrics on " + address),
            std::string::npos)
      << second.status();
}

TEST(MetricsHttpServerTest, PortOutOfRangeIsInvalidArgument) {
  MetricRegistry registry;
  auto server = MetricsHttpServer::Start("127.0.0.1", 70000, &registry);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("metrics port 70000"), std::string::npos);
}

TEST(MetricsHttpServerTest, StoppedServerNoLongerAnswers) {
  MetricRegistry registry;
  auto server = MetricsHttpServer::Start("127.0.0.1", 0, &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  int port = (*server)->port();
  server->reset();
  absl::StatusOr<HttpResponse> response = HttpRequest(port, "GET", "/metrics");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
}

TEST(MetricsFlagsTest, DefaultIsNoServerAndZeroWritesTheChosenPort) {
  MetricRegistry registry;
  MetricsFlags flags;
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> none = StartMetricsServer(flags, &registry);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, nullptr);

  star::testing::TempDir dir;
  flags.port = 0;
  flags.host = "127.0.0.1";
  flags.port_file = dir.File("metrics.port");
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server = StartMetricsServer(flags, &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_NE(*server, nullptr);
  EXPECT_EQ(star::testing::ReadFile(flags.port_file), std::to_string((*server)->port()) + "\n");
}

TEST(MetricsFlagsTest, FlagsParseAndRejectPortsOutOfRange) {
  MetricsFlags metrics_flags;
  FlagParser parser("test", "test");
  AddMetricsFlags(parser, &metrics_flags);
  const char* good[] = {"test", "--metrics-port", "0", "--metrics-host", "127.0.0.1",
                        "--metrics-port-file", "/tmp/x"};
  ASSERT_TRUE(parser.Parse(7, good).ok());
  EXPECT_EQ(metrics_flags.port, 0);
  EXPECT_EQ(metrics_flags.host, "127.0.0.1");
  EXPECT_EQ(metrics_flags.port_file, "/tmp/x");
  FlagParser strict("test", "test");
  AddMetricsFlags(strict, &metrics_flags);
  const char* bad[] = {"test", "--metrics-port", "-2"};
  absl::Status s = strict.Parse(3, bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--metrics-port: -2 is out of range"), std::string::npos) << s;
}

}  // namespace
}  // namespace star::metrics
