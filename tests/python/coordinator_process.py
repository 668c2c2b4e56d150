"""A real star-coordinator process for the Python tests: started on 127.0.0.1 with a port the
OS chooses (learnt through --port-file), stopped with SIGTERM, which must end it with exit 0."""

import os
import subprocess
import time


class CoordinatorProcess:
    def __init__(self, directory, extra_args=()):
        port_file = os.path.join(directory, "port")
        self.log = open(os.path.join(directory, "coordinator.log"), "w")
        binary = os.path.join(os.environ["STAR_BIN_DIR"], "star-coordinator")
        self.process = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--state-dir", os.path.join(directory, "state"),
             "--port-file", port_file, *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.process.poll() is not None:
                raise RuntimeError(f"coordinator exited early with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("coordinator wrote no port file in 30 s")
            time.sleep(0.01)
        with open(port_file) as f:
            self.address = f"127.0.0.1:{int(f.read())}"

    def stop(self):
        """SIGTERM; returns the exit status."""
        self.process.terminate()
        # Generous: once it logs "stopped", the exit (closing the state store and the rest) took
        # over 10 s once on a machine busy with the fault tests, and 0.3 s when quiet.
        status = self.process.wait(timeout=60)
        self.log.close()
        return status
