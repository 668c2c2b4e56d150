// The safetensors reader on arbitrary bytes: header lengths past the end, JSON that is not an
// object, wrong dtypes, shapes whose product overflows, offsets out of order or out of bounds.
// Must return a status, never read outside the buffer.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so that AddressSanitizer sees any read past the end.
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(data[i]);
  std::vector<star::TensorView> tensors;
  std::map<std::string, std::string> metadata;
  absl::Status status =
      star::ParseSafetensors(bytes.data(), bytes.size(), "fuzz.safetensors", &tensors, &metadata);
  if (status.ok()) {
    // Touch every tensor's first and last byte: the views must lie inside the buffer.
    size_t sum = 0;
    for (const star::TensorView& t : tensors) {
      if (t.size_bytes > 0) sum += static_cast<size_t>(t.data[0]) + static_cast<size_t>(t.data[t.size_bytes - 1]);
    }
    if (sum == static_cast<size_t>(-1)) __builtin_trap();
  }
  return 0;
}
