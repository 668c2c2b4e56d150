#include "metrics/metrics_http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>

#include "absl/strings/str_cat.h"
#include "log/log.h"
#include "metrics/exposition_format.h"
#include "metrics/metric_registry.h"

namespace star::metrics {
namespace {

// Requests are a line and a few headers; anything longer is not a scrape.
constexpr size_t kMaxRequestBytes = 16 << 10;
// A client gets this long to send its request and take the response.
constexpr absl::Duration kConnectionTimeout = absl::Seconds(10);
// Connections answered at once; more wait in the listen backlog.
constexpr size_t kMaxConnections = 8;

// Waits until `fd` is ready for `events`; false when `deadline` passes, `wake` fires (the
// server stops) or poll fails.
bool WaitReady(int fd, short events, int wake, absl::Time deadline) {
  while (true) {
    int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) return false;
    pollfd p[2] = {{fd, events, 0}, {wake, POLLIN, 0}};
    int n = ::poll(p, 2, static_cast<int>(left_ms));
    if (n > 0) return p[1].revents == 0;
    if (n < 0 && errno != EINTR) return false;
  }
}

// Sends all of `data` before `deadline`; false if the client went away or was too slow.
bool SendAll(int fd, const std::string& data, int wake, absl::Time deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    if (!WaitReady(fd, POLLOUT, wake, deadline)) return false;
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string Response(int code, const char* reason, const std::string& content_type,
                     const std::string& body, bool send_body,
                     const std::string& extra_headers = "") {
  std::string response = absl::StrCat("HTTP/1.1 ", code, " ", reason,
                                      "\r\nContent-Type: ", content_type,
                                      "\r\nContent-Length: ", body.size(),
                                      "\r\nConnection: close\r\n", extra_headers, "\r\n");
  if (send_body) response += body;
  return response;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port, const MetricRegistry* registry) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics port ", port, " is not 0-65535"));
  }
  if (host.empty()) return absl::InvalidArgumentError("metrics host is empty");
  const std::string address = absl::StrCat(host, ":", port);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", ::gai_strerror(rc)));
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool ok = fd >= 0 && ::bind(fd, found->ai_addr, found->ai_addrlen) == 0 &&
            ::listen(fd, 64) == 0;
  int error = errno;
  ::freeaddrinfo(found);
  sockaddr_in bound{};
  socklen_t length = sizeof(bound);
  if (ok && ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    ok = false;
    error = errno;
  }
  if (!ok) {
    if (fd >= 0) ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", std::strerror(error)));
  }
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    ::close(fd);
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(fd, wake, ntohs(bound.sin_port), registry));
}

MetricsHttpServer::MetricsHttpServer(int listen_fd, int wake_fd, int port,
                                     const MetricRegistry* registry)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port),
      registry_(registry),
      thread_([this] { Serve(); }) {}

MetricsHttpServer::~MetricsHttpServer() {
  uint64_t one = 1;
  // The serving thread polls this descriptor with the listening socket.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
}

void MetricsHttpServer::Serve() {
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<std::unique_ptr<Connection>> connections;
  auto reap = [&connections](bool all) {
    for (auto it = connections.begin(); it != connections.end();) {
      if (all || (*it)->done.load()) {
        (*it)->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  };
  while (true) {
    reap(false);
    // While every slot is busy, only the wake descriptor is watched (with a short timeout to
    // reap finished connections).
    const bool full = connections.size() >= kMaxConnections;
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    if (::poll(fds, full ? 1 : 2, full ? 50 : -1) < 0) {
      if (errno == EINTR) continue;
      STAR_LOG(ERROR) << "metrics server: poll: " << std::strerror(errno);
      break;
    }
    if (fds[0].revents != 0) break;
    if (full || (fds[1].revents & POLLIN) == 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) continue;  // the client gave up already, or a transient error
    auto connection = std::make_unique<Connection>();
    Connection* c = connection.get();
    c->thread = std::thread([this, c, client] {
      HandleConnection(client);
      ::close(client);
      c->done = true;
    });
    connections.push_back(std::move(connection));
  }
  // Connections see the wake descriptor too and end at once.
  reap(true);
}

void MetricsHttpServer::HandleConnection(int fd) const {
  absl::Time deadline = absl::Now() + kConnectionTimeout;
  std::string request;
  size_t end = std::string::npos;
  char buffer[4096];
  while (end == std::string::npos) {
    if (request.size() > kMaxRequestBytes || !WaitReady(fd, POLLIN, wake_fd_, deadline)) return;
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
    end = request.find("\r\n\r\n");
  }
  // Request line: METHOD SP TARGET SP VERSION.
  std::string line = request.substr(0, request.find("\r\n"));
  size_t first = line.find(' ');
  size_t second = first == std::string::npos ? std::string::npos : line.find(' ', first + 1);
  if (second == std::string::npos || !line.substr(second + 1).starts_with("HTTP/1.")) {
    SendAll(fd, Response(400, "Bad Request", "text/plain; charset=utf-8", "bad request\n", true),
            wake_fd_, deadline);
    return;
  }
  const std::string method = line.substr(0, first);
  std::string path = line.substr(first + 1, second - first - 1);
  path = path.substr(0, path.find('?'));
  if (path != "/metrics") {
    SendAll(fd,
            Response(404, "Not Found", "text/plain; charset=utf-8",
                     "not found; metrics are at /metrics\n", method != "HEAD"),
            wake_fd_, deadline);
    return;
  }
  if (method != "GET" && method != "HEAD") {
    SendAll(fd,
            Response(405, "Method Not Allowed", "text/plain; charset=utf-8", "only GET and HEAD\n",
                     true, "Allow: GET, HEAD\r\n"),
            wake_fd_, deadline);
    return;
  }
  SendAll(fd, Response(200, "OK", kExpositionContentType, registry_->Render(), method == "GET"),
          wake_fd_, deadline);
}

}  // namespace star::metrics
