#ifndef STAR_TRAINER_STORE_LISTENER_H_
#define STAR_TRAINER_STORE_LISTENER_H_

#include <string>

#include "absl/status/statusor.h"

namespace star {

// A listening TCP socket bound before a round forms, so that rank 0 can tell the other ranks
// its port and then serve the round's TCPStore on it (no port race). Move-only; closes the
// socket unless released to Collective::Create.
class StoreListener {
 public:
  // Binds `address` (an IPv4 address or host name) on a port the OS chooses.
  static absl::StatusOr<StoreListener> Bind(const std::string& address);
  StoreListener(StoreListener&& other) noexcept : fd_(other.fd_), port_(other.port_) { other.fd_ = -1; }
  StoreListener& operator=(StoreListener&& other) noexcept;
  StoreListener(const StoreListener&) = delete;
  StoreListener& operator=(const StoreListener&) = delete;
  ~StoreListener();

  int port() const { return port_; }
  // Gives up ownership of the socket (to CollectiveOptions::master_listen_fd).
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  StoreListener(int fd, int port) : fd_(fd), port_(port) {}
  int fd_;
  int port_;
};

}  // namespace star

#endif  // STAR_TRAINER_STORE_LISTENER_H_
