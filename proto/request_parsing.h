#ifndef STAR_PROTO_REQUEST_PARSING_H_
#define STAR_PROTO_REQUEST_PARSING_H_

// How gRPC turns received bytes into this project's protobuf messages.
//
// gRPC's own protobuf parsing answers a request that does not parse (a string field holding
// invalid UTF-8, truncated or malformed wire data) with INTERNAL and no message, before any
// handler runs. Here such a request is answered INVALID_ARGUMENT with a message that names the
// field, e.g. "star.v1.RegisterWorkerRequest does not parse: hostname: not valid UTF-8 (byte 3
// of the field); string fields must hold UTF-8 text".
//
// gRPC's extension point for this is grpc::SerializationTraits. The generated unary handlers
// and stubs parse through SerializationTraits<protobuf::MessageLite>, the streaming ones through
// the concrete request type; both are specialised below. protoc's gRPC plugin includes this
// header in every generated *.grpc.pb.h (proto/CMakeLists.txt), so every translation unit
// that uses a generated service or stub sees the specialisations.

#include <cstddef>
#include <string>
#include <string_view>

#include "google/protobuf/descriptor.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "star/v1/jobs.pb.h"
#include "star/v1/training.pb.h"

namespace star {

// The length of the longest prefix of `text` that is well-formed UTF-8 as protobuf requires of
// string fields (no overlong forms, no surrogates, nothing above U+10FFFF), i.e. the offset of
// the first bad byte, or text.size().
size_t ValidUtf8Prefix(std::string_view text);
bool IsValidUtf8(std::string_view text);

// Why `bytes` do not parse as a `descriptor` message: "PATH: not valid UTF-8 (byte N of the
// field)" for the first string field that is not UTF-8 (PATH like "results[2].samples[0].
// completion"), or "malformed wire data at byte N" (at PATH, where known). Empty when the
// bytes are well-formed as far as this walk can tell.
std::string DescribeUnparsableMessage(const google::protobuf::Descriptor& descriptor,
                                      std::string_view bytes);

// Parses `buffer` into `message` and clears `buffer`; on failure, INVALID_ARGUMENT naming the
// message type and, through DescribeUnparsableMessage, the field.
grpc::Status ParseMessage(grpc::ByteBuffer* buffer, grpc::protobuf::MessageLite* message);

}  // namespace star

namespace grpc {

template <>
class SerializationTraits<protobuf::MessageLite, void> {
 public:
  static Status Serialize(const protobuf::MessageLite& message, ByteBuffer* buffer,
                          bool* own_buffer) {
    return GenericSerialize<ProtoBufferWriter, protobuf::MessageLite>(message, buffer, own_buffer);
  }
  static Status Deserialize(ByteBuffer* buffer, protobuf::MessageLite* message) {
    return star::ParseMessage(buffer, message);
  }
};

// The requests of the server-streaming methods (WatchJob, StreamExamples).
template <>
class SerializationTraits<star::v1::GetJobRequest, void>
    : public SerializationTraits<protobuf::MessageLite, void> {};
template <>
class SerializationTraits<star::v1::StreamExamplesRequest, void>
    : public SerializationTraits<protobuf::MessageLite, void> {};

}  // namespace grpc

#endif  // STAR_PROTO_REQUEST_PARSING_H_
