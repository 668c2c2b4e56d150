#ifndef STAR_TRAINER_COLLECTIVE_H_
#define STAR_TRAINER_COLLECTIVE_H_

// The collectives of one data-parallel training round, in the shape of c10d (which it wraps):
// a process group formed through a TCPStore served by rank 0, Gloo for CPU tensors and NCCL
// for CUDA tensors (NCCL only in CUDA builds; asking for it elsewhere fails naming the backend).
//
// Not thread-safe: one Collective per rank, used from one thread. Every call returns within the
// collective timeout: a rank that died makes the others fail with kDeadlineExceeded or
// kUnavailable instead of hanging.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "trainer/store_listener.h"

namespace star {

inline constexpr absl::Duration kDefaultCollectiveTimeout = absl::Seconds(60);

struct CollectiveOptions {
  // "gloo" (CPU tensors) or "nccl" (CUDA tensors).
  std::string backend = "gloo";
  // Where rank 0 serves the TCPStore. Rank 0 may instead hand over a socket it already
  // listens on (see StoreListener), whose port the other ranks were given.
  std::string master_addr = "127.0.0.1";
  int master_port = 0;
  int master_listen_fd = -1;
  int rank = 0;
  int world_size = 1;
  absl::Duration timeout = kDefaultCollectiveTimeout;
  // Gradients are all-reduced in flat buckets of about this many bytes.
  int64_t bucket_bytes = 25 << 20;
};

class Collective {
 public:
  // Forms the process group; blocks until every rank has joined or the timeout passes.
  // kInvalidArgument for a bad rank/world size or backend; kUnimplemented for "nccl" in a
  // build without CUDA; kDeadlineExceeded/kUnavailable when the rendezvous fails.
  static absl::StatusOr<std::unique_ptr<Collective>> Create(const CollectiveOptions& options);

  Collective(const Collective&) = delete;
  Collective& operator=(const Collective&) = delete;
  ~Collective();

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  // The TCPStore port (meaningful on rank 0 after Create with port 0).
  int port() const { return port_; }
  const std::string& backend() const { return options_.backend; }

  // Replaces each parameter's gradient by its mean over all ranks. Parameters without a
  // gradient contribute zeros (so every rank sends the same layout). Gradients are packed into
  // flat buckets (one all-reduce per bucket).
  absl::Status AverageGradients(const std::vector<torch::Tensor>& parameters);

  // In-place sum over all ranks.
  absl::Status AllReduceSum(torch::Tensor& tensor);

  absl::Status Barrier();

  // Seconds spent inside all-reduce calls so far.
  double allreduce_seconds() const { return allreduce_seconds_; }

 private:
  struct Groups;  // the c10d store and backend
  explicit Collective(CollectiveOptions options);

  CollectiveOptions options_;
  int port_ = 0;
  std::unique_ptr<Groups> groups_;
  double allreduce_seconds_ = 0;
};

// Whether this build compiled the NCCL path and this machine has a CUDA device to run it on.
bool NcclAvailable();

}  // namespace star

#endif  // STAR_TRAINER_COLLECTIVE_H_
