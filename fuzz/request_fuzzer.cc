// The coordinator's request parsing (proto/request_parsing.h) on arbitrary bytes, as gRPC hands
// them to it: the first byte picks the request type, the rest are its wire bytes. Protobuf's own
// parser is the reference: the two must agree on whether the bytes parse, and a refusal must be
// INVALID_ARGUMENT naming the type. Must never crash, read out of bounds or leak.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "proto/request_parsing.h"
#include "star/v1/coordinator.pb.h"
#include "star/v1/jobs.pb.h"
#include "star/v1/training.pb.h"

namespace {

std::unique_ptr<google::protobuf::Message> NewRequest(uint8_t selector) {
  switch (selector % 6) {
    case 0: return std::make_unique<star::v1::SubmitShardResultRequest>();
    case 1: return std::make_unique<star::v1::RegisterWorkerRequest>();
    case 2: return std::make_unique<star::v1::SubmitJobRequest>();  // the whole JobSpec inside
    case 3: return std::make_unique<star::v1::JoinRoundRequest>();
    case 4: return std::make_unique<star::v1::ReportStepRequest>();
    default: return std::make_unique<star::v1::GetJobRequest>();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::unique_ptr<google::protobuf::Message> reference = NewRequest(data[0]);
  const bool parses = reference->ParseFromString(bytes);

  std::unique_ptr<google::protobuf::Message> message = NewRequest(data[0]);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer buffer(&slice, 1);
  const grpc::Status status = star::ParseMessage(&buffer, message.get());
  if (status.ok() != parses) __builtin_trap();
  if (!status.ok()) {
    if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) __builtin_trap();
    if (status.error_message().rfind(message->GetTypeName() + " does not parse: ", 0) != 0) {
      __builtin_trap();
    }
  } else if (message->SerializeAsString() != reference->SerializeAsString()) {
    // Bytes, not field values: a double may be NaN. (No map fields, so the order is fixed.)
    __builtin_trap();
  }
  return 0;
}
