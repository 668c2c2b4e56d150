#include "files/excerpt.h"

#include <string>

#include "gtest/gtest.h"

namespace star {
namespace {

TEST(ExcerptTest, PrintableTextIsKeptAndTheRestEscaped) {
  EXPECT_EQ(Excerpt("{\"a\": 1}"), "{\"a\": 1}");
  EXPECT_EQ(Excerpt(std::string("a\0b\n\xff", 5)), "a\\x00b\\n\\xff");
  EXPECT_EQ(Excerpt("C:\\x"), "C:\\\\x");
}

TEST(ExcerptTest, LongTextIsCutAtTheLimit) {
  const std::string excerpt = Excerpt(std::string(1000, 'k'));
  EXPECT_EQ(excerpt, std::string(kMaxExcerptBytes, 'k') + "...");
  EXPECT_EQ(Excerpt("abcdef", 3), "abc...");
}

TEST(ExcerptTest, AParsersQuotedBytesAreCutAndEscaped) {
  using namespace std::string_literals;
  const std::string secret = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\0TOKEN="s + std::string(200, 's');
  const std::string message =
      "syntax error while parsing value - invalid literal; last read: '" + secret + "'";
  const std::string safe = SafeParserMessage(message);
  EXPECT_EQ(safe.find("TOKEN"), std::string::npos) << safe;
  EXPECT_NE(safe.find("syntax error while parsing value - invalid literal; last read: 'PATH=/usr/local/sbin:/usr/local/bin:/usr...'"),
            std::string::npos)
      << safe;
  EXPECT_LT(safe.size(), 140u);
  EXPECT_EQ(SafeParserMessage("no quotes here"), "no quotes here");
}

}  // namespace
}  // namespace star
