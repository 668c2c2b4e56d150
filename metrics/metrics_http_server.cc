#include "metrics/metrics_http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "metrics/exposition_format.h"
#include "metrics/metric_registry.h"

namespace star::metrics {
namespace {

void SendResponse(mg_connection* connection, int code, const std::string& reason,
                  const std::string& content_type, const std::string& body, bool send_body,
                  const std::string& extra_headers = "") {
  std::string head = absl::StrCat("HTTP/1.1 ", code, " ", reason, "\r\nContent-Type: ",
                                  content_type, "\r\nContent-Length: ", body.size(),
                                  "\r\nConnection: close\r\n", extra_headers, "\r\n");
  mg_write(connection, head.data(), head.size());
  if (send_body && !body.empty()) mg_write(connection, body.data(), body.size());
}

// Every path goes through here (the handler is registered for "/"), so that nothing falls
// through to civetweb's file serving.
int HandleRequest(mg_connection* connection, void* data) {
  const auto* registry = static_cast<const MetricRegistry*>(data);
  const mg_request_info* request = mg_get_request_info(connection);
  const std::string_view method = request->request_method ? request->request_method : "";
  const std::string_view path = request->local_uri ? request->local_uri : "";
  if (path != "/metrics") {
    SendResponse(connection, 404, "Not Found", "text/plain; charset=utf-8",
                 "not found; metrics are at /metrics\n", method != "HEAD");
    return 404;
  }
  if (method != "GET" && method != "HEAD") {
    SendResponse(connection, 405, "Method Not Allowed", "text/plain; charset=utf-8",
                 "only GET and HEAD\n", true, "Allow: GET, HEAD\r\n");
    return 405;
  }
  std::string page = registry->Render();
  SendResponse(connection, 200, "OK", kExpositionContentType, page, method == "GET");
  return 200;
}

// Opens and closes one connection to `host`:`port` (0.0.0.0 is reached through loopback).
void Poke(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (host == "0.0.0.0" || ::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::close(fd);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port, const MetricRegistry* registry) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics port ", port, " is not 0-65535"));
  }
  if (host.empty()) return absl::InvalidArgumentError("metrics host is empty");
  // Process-wide initialisation, once, before the first server starts.
  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });

  const std::string listening = absl::StrCat(host, ":", port);
  const char* options[] = {"listening_ports", listening.c_str(),
                           "num_threads", "4",
                           "request_timeout_ms", "10000",
                           "enable_keep_alive", "no",
                           nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  // Start-up errors come back through mg_error_data; civetweb's own stderr logging is muted.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init{&callbacks, nullptr, options};
  char error_text[256] = {};
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof(error_text)};
  mg_context* context = mg_start2(&init, &error);
  if (context == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listening, ": ",
                     error_text[0] != '\0' ? error_text : "civetweb failed to start"));
  }
  mg_set_request_handler(context, "/", HandleRequest, const_cast<MetricRegistry*>(registry));
  mg_server_port ports[4];
  std::memset(ports, 0, sizeof(ports));
  int count = mg_get_server_ports(context, 4, ports);
  if (count < 1 || ports[0].port <= 0) {
    mg_stop(context);
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listening, ": no port was bound"));
  }
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(context, host, ports[0].port));
}

MetricsHttpServer::~MetricsHttpServer() {
  // civetweb's listener thread notices the stop request only when its poll() returns, which
  // without traffic takes up to two seconds; connections make it return at once. So while
  // mg_stop() waits for its threads, connect now and then.
  std::future<void> stopped =
      std::async(std::launch::async, [context = context_] { mg_stop(context); });
  while (stopped.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
    Poke(host_, port_);
  }
}

}  // namespace star::metrics
