#ifndef STAR_SERVICE_GRPC_SERVER_H_
#define STAR_SERVICE_GRPC_SERVER_H_

// A gRPC server with the standard grpc.health.v1.Health service and a graceful shutdown.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace grpc {
class Server;
class ServerCredentials;
class Service;
}  // namespace grpc

namespace star {

// A service to serve and the full name health checks know it by ("star.v1.Jobs"; generated
// services give it as Service::service_full_name()).
struct NamedService {
  std::string name;
  grpc::Service* service;
};

class GrpcServer {
 public:
  // Starts serving `services` (not owned; they must outlive the server) on `listen_address`
  // ("HOST:PORT"; port 0 lets the OS choose). The health service reports SERVING for the
  // server as a whole ("") and for each service by its full name.
  // `credentials` null serves plaintext; otherwise e.g. LoadServerSecurity()'s TLS.
  // `max_threads` > 0 caps the threads of the synchronous server (gRPC's resource quota);
  // callback methods use none of them.
  // Returns kInvalidArgument for a malformed address and kUnavailable when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const std::string& listen_address, const std::vector<NamedService>& services,
      std::shared_ptr<grpc::ServerCredentials> credentials = nullptr, int max_threads = 0);

  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;
  ~GrpcServer();

  // The port actually bound.
  int port() const { return port_; }
  // "HOST:PORT" with the bound port.
  const std::string& address() const { return address_; }

  // Flips health to NOT_SERVING, stops accepting calls and lets in-flight calls finish for up
  // to `grace`; calls still running then are cancelled. Idempotent. Thread-safe.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port, std::string address);

  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::string address_;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;  // guarded by shutdown_mu_
};

// Writes `port` followed by a newline to `path` atomically (a temporary file renamed into
// place), so that a reader never sees a partial file. Returns kInternal naming the path.
absl::Status WritePortFile(const std::string& path, int port);

}  // namespace star

#endif  // STAR_SERVICE_GRPC_SERVER_H_
