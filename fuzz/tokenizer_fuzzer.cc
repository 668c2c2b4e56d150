// The tokenizer on arbitrary bytes, two ways chosen by the first byte: as a tokenizer.json to
// load (then used on a short text), or as text (and ids) for the example character-level
// tokenizer to encode and decode, and for the Unicode normalization forms. Must return a status
// or a result, never crash; the forms must be stable (normalizing a normalized text again
// changes nothing) and agree with each other.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/tokenizer.h"
#include "model/unicode_normalization.h"

namespace {

const star::Tokenizer& ExampleTokenizer() {
  static const star::Tokenizer* tokenizer = [] {
    absl::StatusOr<star::Tokenizer> loaded =
        star::Tokenizer::FromFile(STAR_SOURCE_DIR "/examples/tiny-char-llama/tokenizer.json");
    if (!loaded.ok()) __builtin_trap();
    return new star::Tokenizer(*std::move(loaded));
  }();
  return *tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    absl::StatusOr<star::Tokenizer> tokenizer = star::Tokenizer::FromJson(rest, "fuzz.json");
    if (tokenizer.ok()) {
      std::vector<int32_t> ids = tokenizer->Encode("1 2 + 3 4\nTarget:", true);
      (void)tokenizer->Decode(ids, false);
    }
    return 0;
  }
  const star::Tokenizer& tokenizer = ExampleTokenizer();
  std::vector<int32_t> ids = tokenizer.Encode(rest, true);
  (void)tokenizer.Decode(ids, false);
  // The bytes as ids too: out-of-range and negative ids must be handled.
  std::vector<int32_t> raw(rest.size() / 4);
  for (size_t i = 0; i < raw.size(); ++i) {
    raw[i] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint8_t>(rest[4 * i])) |
                                  static_cast<uint32_t>(static_cast<uint8_t>(rest[4 * i + 1])) << 8 |
                                  static_cast<uint32_t>(static_cast<uint8_t>(rest[4 * i + 2])) << 16 |
                                  static_cast<uint32_t>(static_cast<uint8_t>(rest[4 * i + 3])) << 24);
  }
  (void)tokenizer.Decode(raw, true);
  const std::string nfd = star::ToNfd(rest);
  const std::string nfc = star::ToNfc(rest);
  if (star::ToNfd(nfd) != nfd || star::ToNfc(nfc) != nfc || star::ToNfd(nfc) != nfd ||
      star::ToNfc(nfd) != nfc) {
    __builtin_trap();
  }
  return 0;
}
