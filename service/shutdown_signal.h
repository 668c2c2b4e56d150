#ifndef STAR_SERVICE_SHUTDOWN_SIGNAL_H_
#define STAR_SERVICE_SHUTDOWN_SIGNAL_H_

// SIGTERM / SIGINT handling for the daemons.
//
// BlockShutdownSignals() must run at the start of main(), before any thread starts, so that
// every thread inherits a mask in which the signals are blocked; one thread then receives them
// synchronously with WaitForShutdownSignal(). No async signal handler runs, so the waiting
// thread may do anything (log, shut a server down).

#include "absl/time/time.h"

namespace star {

// Blocks SIGTERM and SIGINT in the calling thread (and so in threads it starts later).
void BlockShutdownSignals();

// Waits up to `timeout` for SIGTERM or SIGINT. Returns the signal number, or 0 on timeout.
// Thread-safe, but only one thread should wait.
int WaitForShutdownSignal(absl::Duration timeout);

// Name of a shutdown signal for logs ("SIGTERM").
const char* ShutdownSignalName(int signal_number);

}  // namespace star

#endif  // STAR_SERVICE_SHUTDOWN_SIGNAL_H_
