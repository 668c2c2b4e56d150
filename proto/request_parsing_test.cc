#include "proto/request_parsing.h"

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "star/v1/coordinator.pb.h"

namespace star {
namespace {

TEST(Utf8Test, AcceptsWellFormedTextAndFindsTheFirstBadByte) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ASCII 12 + 34"));
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é, €, an emoji
  EXPECT_EQ(ValidUtf8Prefix("ab\xFF" "cd"), 2u);
  EXPECT_EQ(ValidUtf8Prefix("ab\xC3"), 2u);              // cut short
  EXPECT_EQ(ValidUtf8Prefix("\x80"), 0u);                // a continuation byte first
  EXPECT_EQ(ValidUtf8Prefix("x\xC0\x80"), 1u);           // overlong NUL
  EXPECT_EQ(ValidUtf8Prefix("x\xE0\x80\xAF"), 1u);       // overlong '/'
  EXPECT_EQ(ValidUtf8Prefix("xy\xED\xA0\x80"), 2u);      // a UTF-16 surrogate
  EXPECT_EQ(ValidUtf8Prefix("\xF4\x90\x80\x80"), 0u);    // above U+10FFFF
  EXPECT_EQ(ValidUtf8Prefix("\xC3(\xA9"), 0u);           // a lead byte without its continuation
}

// Protobuf itself is the reference for what does not parse; the description says why.
TEST(DescribeUnparsableMessageTest, NamesTheNestedRepeatedStringFieldThatIsNotUtf8) {
  star::v1::SubmitShardResultRequest request;
  request.set_worker_id("w-1");
  request.add_results()->add_samples()->set_completion("fine");
  star::v1::QuestionResult* second = request.add_results();
  second->add_samples()->set_completion("also fine");
  second->add_samples()->set_completion("abcPLACE");
  std::string bytes = request.SerializeAsString();
  bytes.replace(bytes.find("PLACE"), 5, "\xE2\x82(xy");  // '€' cut short at byte 3
  star::v1::SubmitShardResultRequest parsed;
  ASSERT_FALSE(parsed.ParseFromString(bytes));
  EXPECT_EQ(DescribeUnparsableMessage(*request.GetDescriptor(), bytes),
            "results[1].samples[1].completion: not valid UTF-8 (byte 3 of the field); string "
            "fields must hold UTF-8 text");
  EXPECT_EQ(DescribeUnparsableMessage(*request.GetDescriptor(), request.SerializeAsString()), "");
}

TEST(DescribeUnparsableMessageTest, NamesWhereTheWireDataBreaks) {
  star::v1::RegisterWorkerRequest request;
  request.set_hostname("worker-host");
  const std::string bytes = request.SerializeAsString();
  const std::string cut = bytes.substr(0, bytes.size() - 3);
  star::v1::RegisterWorkerRequest parsed;
  ASSERT_FALSE(parsed.ParseFromString(cut));
  EXPECT_EQ(DescribeUnparsableMessage(*request.GetDescriptor(), cut),
            "hostname: malformed wire data at byte 2");
  ASSERT_FALSE(parsed.ParseFromString("\xFF\xFF\xFF\xFF\xFF"));
  EXPECT_EQ(DescribeUnparsableMessage(*request.GetDescriptor(), "\xFF\xFF\xFF\xFF\xFF"),
            "malformed wire data at byte 0");
  // Wire type 7 does not exist.
  ASSERT_FALSE(parsed.ParseFromString(std::string("\x0F", 1)));
  EXPECT_EQ(DescribeUnparsableMessage(*request.GetDescriptor(), std::string("\x0F", 1)),
            "hostname: wire type 7 at byte 0 is not used by this API");
}

// The specialisation gRPC calls: a parse failure is INVALID_ARGUMENT naming the type and field,
// a good message parses as before, and the buffer is consumed either way.
TEST(ParseMessageTest, AnswersInvalidArgumentNamingTheField) {
  const std::string bad = std::string("\x0A\x02\xFF\xFE", 4);  // hostname = ff fe
  grpc::Slice slice(bad);
  grpc::ByteBuffer buffer(&slice, 1);
  star::v1::RegisterWorkerRequest request;
  grpc::Status status = grpc::SerializationTraits<grpc::protobuf::MessageLite>::Deserialize(
      &buffer, &request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "star.v1.RegisterWorkerRequest does not parse: hostname: not valid UTF-8 (byte 0 of "
            "the field); string fields must hold UTF-8 text");
  EXPECT_EQ(buffer.Length(), 0u);

  star::v1::RegisterWorkerRequest good;
  good.set_hostname("h\xC3\xA9");
  grpc::ByteBuffer serialized;
  bool own = false;
  ASSERT_TRUE(grpc::SerializationTraits<grpc::protobuf::MessageLite>::Serialize(good, &serialized,
                                                                                &own)
                  .ok());
  star::v1::RegisterWorkerRequest parsed;
  ASSERT_TRUE(
      grpc::SerializationTraits<star::v1::GetJobRequest>::Deserialize(&serialized, &parsed).ok());
  EXPECT_EQ(parsed.hostname(), "h\xC3\xA9");
}

}  // namespace
}  // namespace star
