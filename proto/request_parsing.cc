#include "proto/request_parsing.h"

#include <cstdint>
#include <map>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace star {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

// Deep enough for any message of this API; deeper input is reported, not recursed into.
constexpr int kMaxDepth = 32;

// Walks the fields of one message (up to the stream's current limit). Returns false with
// `problem` set at the first field that is not well-formed.
bool Walk(const Descriptor& descriptor, CodedInputStream& in, const std::string& prefix,
          int depth, std::string* problem) {
  std::map<int, int> occurrences;  // field number -> how many seen, for repeated indices
  while (true) {
    if (in.BytesUntilLimit() == 0) return true;
    const int tag_at = in.CurrentPosition();
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {  // not a varint, or field number 0
      *problem = "malformed wire data at byte " + std::to_string(tag_at) +
                 (prefix.empty() ? "" : " (in " + prefix + ")");
      return false;
    }
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    const FieldDescriptor* field = descriptor.FindFieldByNumber(number);
    std::string path = field != nullptr ? field->name() : "field " + std::to_string(number);
    if (field != nullptr && field->is_repeated()) {
      path += "[" + std::to_string(occurrences[number]++) + "]";
    }
    if (!prefix.empty()) path = prefix + "." + path;
    const auto truncated = [&] {
      *problem = path + ": malformed wire data at byte " + std::to_string(in.CurrentPosition());
      return false;
    };
    switch (WireFormatLite::GetTagWireType(tag)) {
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t value = 0;
        if (!in.ReadVarint64(&value)) return truncated();
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED64: {
        uint64_t value = 0;
        if (!in.ReadLittleEndian64(&value)) return truncated();
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED32: {
        uint32_t value = 0;
        if (!in.ReadLittleEndian32(&value)) return truncated();
        break;
      }
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t length = 0;
        if (!in.ReadVarint32(&length) || static_cast<int64_t>(length) > in.BytesUntilLimit()) {
          return truncated();
        }
        if (field != nullptr && field->type() == FieldDescriptor::TYPE_STRING) {
          std::string text;
          if (!in.ReadString(&text, static_cast<int>(length))) return truncated();
          if (const size_t good = ValidUtf8Prefix(text); good != text.size()) {
            *problem = path + ": not valid UTF-8 (byte " + std::to_string(good) +
                       " of the field); string fields must hold UTF-8 text";
            return false;
          }
        } else if (field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE) {
          if (depth >= kMaxDepth) {
            *problem = path + ": nested deeper than " + std::to_string(kMaxDepth) + " messages";
            return false;
          }
          const CodedInputStream::Limit limit = in.PushLimit(static_cast<int>(length));
          if (!Walk(*field->message_type(), in, path, depth + 1, problem)) return false;
          in.PopLimit(limit);
        } else if (!in.Skip(static_cast<int>(length))) {
          return truncated();
        }
        break;
      }
      default:
        *problem = path + ": wire type " + std::to_string(WireFormatLite::GetTagWireType(tag)) +
                   " at byte " + std::to_string(tag_at) + " is not used by this API";
        return false;
    }
  }
}

}  // namespace

size_t ValidUtf8Prefix(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    uint32_t code = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, code = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, code = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, code = c & 0x07, min = 0x10000;
    } else {
      return i;  // a continuation byte first, or 0xF8-0xFF
    }
    if (i + extra >= text.size()) return i;  // cut short
    for (size_t k = 1; k <= extra; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += extra + 1;
  }
  return text.size();
}

bool IsValidUtf8(std::string_view text) { return ValidUtf8Prefix(text) == text.size(); }

std::string DescribeUnparsableMessage(const Descriptor& descriptor, std::string_view bytes) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  in.PushLimit(static_cast<int>(bytes.size()));
  std::string problem;
  Walk(descriptor, in, "", 0, &problem);
  return problem;
}

grpc::Status ParseMessage(grpc::ByteBuffer* buffer, grpc::protobuf::MessageLite* message) {
  if (buffer == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "no payload");
  grpc::Status result;
  {
    grpc::ProtoBufferReader reader(buffer);
    if (!reader.status().ok()) return reader.status();
    if (!message->ParseFromZeroCopyStream(&reader)) {
      // Only now, on the failure path: the bytes again, to find out why.
      grpc::Slice slice;
      std::string bytes;
      if (buffer->DumpToSingleSlice(&slice).ok()) {
        bytes.assign(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
      const std::string type = message->GetTypeName();
      const Descriptor* descriptor =
          google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
      std::string why = descriptor != nullptr ? DescribeUnparsableMessage(*descriptor, bytes) : "";
      if (why.empty()) why = "malformed wire data";
      result = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, type + " does not parse: " + why);
    }
  }
  buffer->Clear();
  return result;
}

}  // namespace star
