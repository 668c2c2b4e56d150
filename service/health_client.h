#ifndef STAR_SERVICE_HEALTH_CLIENT_H_
#define STAR_SERVICE_HEALTH_CLIENT_H_

// Client side of grpc.health.v1.Health, for `star status`, `star up` and the tests.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/channel_security.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace star {

// A channel to `address` ("HOST:PORT"), over TLS when `security` has credentials, sending
// its bearer token (if any) on every call. Thread-safe; share it.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ClientSecurity& security = ClientSecurity());

enum class HealthState { kUnknown, kServing, kNotServing, kServiceUnknown };
const char* HealthStateName(HealthState state);

// One Health/Check call for `service` ("" = the whole server) with `timeout`.
// Returns the RPC's error (e.g. kUnavailable when nothing listens, kDeadlineExceeded).
absl::StatusOr<HealthState> CheckHealth(grpc::Channel& channel, const std::string& service,
                                        absl::Duration timeout);

// Polls CheckHealth until it reports SERVING or `deadline` passes (then kDeadlineExceeded with
// the last error). Polls are spaced by a short backoff; no sleep is used for synchronisation.
absl::Status WaitUntilServing(grpc::Channel& channel, absl::Time deadline);

}  // namespace star

#endif  // STAR_SERVICE_HEALTH_CLIENT_H_
