// The job-file parser on arbitrary bytes: YAML that is not YAML, wrong types, unknown keys,
// huge numbers, deep nesting. It must return a status, never crash, leak or hang.

#include <cstddef>
#include <cstdint>
#include <string>

#include "coordinator/job_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<star::v1::JobSpec> spec = star::ParseJobYaml(yaml, "fuzz.yaml");
  if (spec.ok()) (void)star::ValidateJobSpec(*spec, "spec");
  return 0;
}
