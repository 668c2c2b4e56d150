"""Checks the coordinator's TLS and operator token with the reference gRPC client (grpcio).

An independent TLS stack must verify the coordinator's certificate (made here with openssl for
127.0.0.1) and get health over it; Jobs calls without the bearer token must be refused with
UNAUTHENTICATED, and pass with it. Requests are sent as raw bytes (an empty ListJobsRequest),
so no generated star.v1 Python code is needed.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from coordinator_process import CoordinatorProcess

TOKEN = "py-operator-token"


def make_certificates(directory):
    """A CA and a server certificate it signed for 127.0.0.1 and localhost."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
    openssl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=star-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key")
    openssl("req", "-new", "-key", "server.key", "-out", "server.csr", "-subj", "/CN=server")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.crt")


@unittest.skipIf(shutil.which("openssl") is None and not os.environ.get("CI"),
                 "openssl is not on PATH")
class CoordinatorSecurityTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name
        make_certificates(d)
        with open(os.path.join(d, "token"), "w") as f:
            f.write(TOKEN + "\n")
        self.coordinator = CoordinatorProcess(
            d, ["--tls-cert", os.path.join(d, "server.crt"), "--tls-key", os.path.join(d, "server.key"),
                "--auth-token-file", os.path.join(d, "token")])
        self.address = self.coordinator.address
        with open(os.path.join(d, "ca.crt"), "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        self.channel = grpc.secure_channel(self.address, credentials)
        grpc.channel_ready_future(self.channel).result(timeout=30)

    def tearDown(self):
        self.channel.close()
        self.assertEqual(self.coordinator.stop(), 0)
        self.dir.cleanup()

    def test_health_over_tls_needs_no_token(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        response = stub.Check(health_pb2.HealthCheckRequest(service="star.v1.Jobs"), timeout=5)
        self.assertEqual(response.status, health_pb2.HealthCheckResponse.SERVING)

    def test_jobs_calls_need_the_bearer_token(self):
        list_jobs = self.channel.unary_unary("/star.v1.Jobs/ListJobs")
        for metadata in [None, [("authorization", "Bearer wrong")],
                         [("authorization", TOKEN)]]:
            with self.assertRaises(grpc.RpcError) as caught:
                list_jobs(b"", timeout=5, metadata=metadata)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED, metadata)
        self.assertEqual(
            list_jobs(b"", timeout=5, metadata=[("authorization", "Bearer " + TOKEN)]), b"")


if __name__ == "__main__":
    unittest.main()
