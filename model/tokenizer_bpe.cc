#include "model/tokenizer_bpe.h"

#include <algorithm>
#include <array>
#include <queue>
#include <unordered_set>

#include "files/excerpt.h"

namespace star::tokenizer_internal {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace star::tokenizer_internal
