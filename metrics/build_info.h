#ifndef STAR_METRICS_BUILD_INFO_H_
#define STAR_METRICS_BUILD_INFO_H_

// star_build_info{daemon="...",version="..."} 1: which daemon and version a target is, the
// series dashboards use to list targets.

#include <string>

#include "metrics/metric_registry.h"

namespace star::metrics {

// The project version this binary was built from (CMake's PROJECT_VERSION).
const char* ProjectVersion();

// Registers star_build_info on `registry` with `daemon` ("coordinator", "worker", "trainer").
void AddBuildInfo(MetricRegistry& registry, const std::string& daemon);

}  // namespace star::metrics

#endif  // STAR_METRICS_BUILD_INFO_H_
