#ifndef STAR_METRICS_METRICS_HTTP_SERVER_H_
#define STAR_METRICS_METRICS_HTTP_SERVER_H_

// An embedded HTTP server (civetweb) that serves a MetricRegistry for Prometheus:
//
//   GET /metrics   200, Content-Type "text/plain; version=0.0.4; charset=utf-8", the page
//   HEAD /metrics  the same headers, no body
//   other methods  405 (Allow: GET, HEAD)
//   other paths    404
//
// Every response closes its connection. A few threads serve requests; a scrape renders the
// registry on one of them.

#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct mg_context;

namespace star::metrics {

class MetricRegistry;

class MetricsHttpServer {
 public:
  // Serves `registry` (not owned; it must outlive the server) on `host`:`port`, `host` an IPv4
  // address ("0.0.0.0" for every interface), `port` 0 for one the OS chooses.
  // kInvalidArgument for a port outside 0-65535 or an empty host; kUnavailable (with civetweb's
  // reason) when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& host,
                                                                    int port,
                                                                    const MetricRegistry* registry);

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  // Stops listening and waits for requests in flight (promptly: well under a second when no
  // request is running).
  ~MetricsHttpServer();

  // The port actually bound.
  int port() const { return port_; }

 private:
  MetricsHttpServer(mg_context* context, std::string host, int port)
      : context_(context), host_(std::move(host)), port_(port) {}

  mg_context* context_;
  const std::string host_;
  const int port_;
};

}  // namespace star::metrics

#endif  // STAR_METRICS_METRICS_HTTP_SERVER_H_
