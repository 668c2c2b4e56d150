#include "trainer/collective.h"

#include <cstdlib>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef STAR_WITH_CUDA
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "absl/strings/str_cat.h"

namespace star {
namespace {

std::chrono::milliseconds ToChronoMillis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// c10d reports failures by throwing; a timeout is reported as such, anything else as a peer
// that went away (retrying in a new round may succeed).
absl::Status FromC10dError(const std::exception& e, std::string_view what) {
  std::string message = e.what();
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) message = c10->what_without_backtrace();
  bool timeout = message.find("imed out") != std::string::npos ||
                 message.find("imeout") != std::string::npos;
  std::string text = absl::StrCat(std::string(what), ": ", message.substr(0, 500));
  return timeout ? absl::DeadlineExceededError(text) : absl::UnavailableError(text);
}

absl::Status WaitFor(const c10::intrusive_ptr<c10d::Work>& work, absl::Duration timeout,
                     std::string_view what) {
  try {
    if (!work->wait(ToChronoMillis(timeout))) {
      return absl::DeadlineExceededError(absl::StrCat(std::string(what), ": timed out"));
    }
  } catch (const std::exception& e) {
    return FromC10dError(e, what);
  }
  return absl::OkStatus();
}

}  // namespace

struct Collective::Groups {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

Collective::Collective(CollectiveOptions options)
    : options_(std::move(options)), groups_(std::make_unique<Groups>()) {}

bool NcclAvailable() {
#ifdef STAR_WITH_CUDA
  try {
    return torch::cuda::is_available();
  } catch (const std::exception&) {
    return false;
  }
#else
  return false;
#endif
}

absl::StatusOr<std::unique_ptr<Collective>> Collective::Create(const CollectiveOptions& options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", options.rank, " is not in a world of ",
                                                   options.world_size));
  }
  if (options.backend != "gloo" && options.backend != "nccl") {
    return absl::InvalidArgumentError(
        absl::StrCat("backend '", options.backend, "' is not gloo or nccl"));
  }
#ifndef STAR_WITH_CUDA
  if (options.backend == "nccl") {
    return absl::UnimplementedError("backend nccl: this build has no CUDA (STAR_WITH_CUDA=OFF)");
  }
#endif
  std::unique_ptr<Collective> c(new Collective(options));
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(options.master_port);
    if (options.rank == 0 && options.master_listen_fd >= 0) {
      store_options.masterListenFd = options.master_listen_fd;
    }
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = options.world_size;
    store_options.waitWorkers = false;
    store_options.timeout = ToChronoMillis(options.timeout);
    auto store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    c->port_ = store->getPort();
    c->groups_->store = store;
    if (options.backend == "gloo") {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(ToChronoMillis(options.timeout));
      gloo_options->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForHostname(options.master_addr));
      c->groups_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank,
                                                                options.world_size, gloo_options);
    } else {
#ifdef STAR_WITH_CUDA
      // A peer that died must fail this rank's collectives within the timeout, not hang them or
      // take the process down: wait() blocks and throws on timeout (blocking wait), and the
      // watchdog only aborts the communicator (async error handling 2), leaving the process to
      // report the round as failed. Set unless the operator chose otherwise; read by the
      // process group's constructor.
      ::setenv("TORCH_NCCL_BLOCKING_WAIT", "1", /*overwrite=*/0);
      ::setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "2", /*overwrite=*/0);
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = ToChronoMillis(options.timeout);
      c->groups_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, options.rank,
                                                                options.world_size, nccl_options);
#endif
    }
  } catch (const std::exception& e) {
    return FromC10dError(e, absl::StrCat(options.backend, " rendezvous at ", options.master_addr,
                                         ":", options.master_port, " as rank ", options.rank));
  }
  return c;
}

Collective::~Collective() = default;


absl::Status Collective::AllReduceSum(torch::Tensor& tensor) {
  auto start = std::chrono::steady_clock::now();
  std::vector<at::Tensor> tensors = {tensor};
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = groups_->backend->allreduce(tensors);
  } catch (const std::exception& e) {
    return FromC10dError(e, absl::StrCat(options_.backend, " all-reduce"));
  }
  absl::Status s = WaitFor(work, options_.timeout, absl::StrCat(options_.backend, " all-reduce"));
  allreduce_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

absl::Status Collective::AverageGradients(const std::vector<torch::Tensor>& parameters) {
  if (options_.world_size == 1) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  size_t i = 0;
  while (i < parameters.size()) {
    // One bucket: consecutive gradients up to bucket_bytes (at least one).
    std::vector<torch::Tensor> grads;
    int64_t bytes = 0;
    size_t first = i;
    for (; i < parameters.size(); ++i) {
      const torch::Tensor& p = parameters[i];
      int64_t size = p.numel() * p.element_size();
      if (!grads.empty() && bytes + size > options_.bucket_bytes) break;
      grads.push_back(p.grad().defined() ? p.grad().reshape({-1}) : torch::zeros({p.numel()}, p.options()));
      bytes += size;
    }
    torch::Tensor flat = torch::cat(grads);
    if (absl::Status s = AllReduceSum(flat); !s.ok()) return s;
    flat.div_(options_.world_size);
    int64_t offset = 0;
    for (size_t k = first; k < i; ++k) {
      const torch::Tensor& p = parameters[k];
      torch::Tensor slice = flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(slice);
      } else {
        p.mutable_grad() = slice.clone();
      }
      offset += p.numel();
    }
  }
  return absl::OkStatus();
}

absl::Status Collective::Barrier() {
  try {
    return WaitFor(groups_->backend->barrier(), options_.timeout, absl::StrCat(options_.backend, " barrier"));
  } catch (const std::exception& e) {
    return FromC10dError(e, absl::StrCat(options_.backend, " barrier"));
  }
}

}  // namespace star
