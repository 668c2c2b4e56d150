#ifndef STAR_SERVICE_GRPC_STATUS_H_
#define STAR_SERVICE_GRPC_STATUS_H_

// absl::Status <-> grpc::Status. The canonical codes are the same numbers in both, so the
// mapping is one-to-one and keeps the message.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace star {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace star

#endif  // STAR_SERVICE_GRPC_STATUS_H_
