#include "model/compute_device.h"

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace star {

std::string ComputeDevice::ToString() const {
  return cuda ? absl::StrCat("cuda:", index) : std::string("cpu");
}

bool ComputesInBf16(Precision precision, const ComputeDevice& device) {
  return precision == Precision::kBFloat16 || (precision == Precision::kAuto && device.cuda);
}

absl::StatusOr<Precision> ParsePrecision(absl::string_view text) {
  if (text == "auto" || text.empty()) return Precision::kAuto;
  if (text == "bf16") return Precision::kBFloat16;
  if (text == "fp32") return Precision::kFloat32;
  return absl::InvalidArgumentError(
      absl::StrCat("precision '", text.substr(0, 64), "' is not auto, bf16 or fp32"));
}

absl::string_view PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kBFloat16:
      return "bf16";
    case Precision::kFloat32:
      return "fp32";
    case Precision::kAuto:
      break;
  }
  return "auto";
}

absl::StatusOr<ComputeDevice> ParseComputeDevice(absl::string_view text, int visible) {
  if (text == "cpu") return ComputeDevice{};
  if (text == "auto") return visible > 0 ? ComputeDevice{.cuda = true, .index = 0} : ComputeDevice{};
  int index = 0;
  if (text != "cuda") {
    if (!absl::StartsWith(text, "cuda:") || !absl::SimpleAtoi(text.substr(5), &index) || index < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", text.substr(0, 64), "' is not cpu, cuda, cuda:N or auto"));
    }
  }
  if (index >= visible) {
    return absl::FailedPreconditionError(absl::StrCat(
        "'", text, "' asks for CUDA device ", index, " but this machine has ",
        visible == 0 ? std::string("no CUDA device") : absl::StrCat(visible, " visible")));
  }
  return ComputeDevice{.cuda = true, .index = index};
}

}  // namespace star
