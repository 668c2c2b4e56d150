#include "metrics/build_info.h"

namespace star::metrics {

const char* ProjectVersion() { return STAR_PROJECT_VERSION; }

void AddBuildInfo(MetricRegistry& registry, const std::string& daemon) {
  registry
      .AddGauge("star_build_info", "Always 1; the labels name the daemon and its version.",
                {"daemon", "version"})
      .WithLabels({daemon, ProjectVersion()})
      .Set(1);
}

}  // namespace star::metrics
