#ifndef STAR_METRICS_METRICS_HTTP_SERVER_H_
#define STAR_METRICS_METRICS_HTTP_SERVER_H_

// A minimal embedded HTTP/1.1 server that serves a MetricRegistry for Prometheus:
//
//   GET /metrics   200, Content-Type "text/plain; version=0.0.4; charset=utf-8", the page
//   HEAD /metrics  the same headers, no body
//   other methods  405 (Allow: GET, HEAD)
//   other paths    404; a request line that is not HTTP/1.x: 400
//
// One thread accepts connections and answers each on a thread of its own, at most 8 at once
// (more wait in the listen backlog), so a client that sends nothing cannot hold up a scrape.
// Every response closes its connection; a client gets 10 s to send its request and take the
// response. A query string is ignored.
//
// Why not civetweb: Debian's libcivetweb is built with a fixed 100 KB thread stack, smaller
// than the static TLS the CUDA libraries under libtorch bring into our daemons, so its threads
// cannot start there (pthread_create fails with EINVAL).

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace star::metrics {

class MetricRegistry;

class MetricsHttpServer {
 public:
  // Serves `registry` (not owned; it must outlive the server) on `host`:`port`, `host` an IPv4
  // address or name ("0.0.0.0" for every interface), `port` 0 for one the OS chooses.
  // kInvalidArgument for a port outside 0-65535 or an empty host; kUnavailable naming the
  // address and the reason when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& host,
                                                                    int port,
                                                                    const MetricRegistry* registry);

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  // Stops listening and ends every connection at once (a response being written is cut off).
  ~MetricsHttpServer();

  // The port actually bound.
  int port() const { return port_; }

 private:
  MetricsHttpServer(int listen_fd, int wake_fd, int port, const MetricRegistry* registry);

  // The accepting thread: runs until the wake descriptor fires, then joins the connections.
  void Serve();
  // Reads one request from `fd` and answers it. Returns early when the wake descriptor fires.
  void HandleConnection(int fd) const;

  const int listen_fd_;
  // An eventfd written by the destructor; it stays readable, so every poll sees it.
  const int wake_fd_;
  const int port_;
  const MetricRegistry* const registry_;
  std::thread thread_;  // last: starts once the fields above are set
};

}  // namespace star::metrics

#endif  // STAR_METRICS_METRICS_HTTP_SERVER_H_
