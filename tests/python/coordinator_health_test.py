"""Checks the coordinator's health service with the reference gRPC client (grpcio).

An independent implementation of grpc.health.v1 must see the C++ server as SERVING, each
star.v1 service as SERVING, and an unknown service as NOT_FOUND.
"""

import tempfile
import unittest

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from coordinator_process import CoordinatorProcess


class CoordinatorHealthTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.coordinator = CoordinatorProcess(self.dir.name)
        self.address = self.coordinator.address
        self.channel = grpc.insecure_channel(self.address)
        grpc.channel_ready_future(self.channel).result(timeout=30)

    def tearDown(self):
        self.channel.close()
        self.assertEqual(self.coordinator.stop(), 0)
        self.dir.cleanup()

    def test_server_and_every_service_are_serving(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        for service in ["", "star.v1.Coordinator", "star.v1.Training", "star.v1.Jobs"]:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            self.assertEqual(response.status, health_pb2.HealthCheckResponse.SERVING, service)

    def test_unknown_service_is_not_found(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        with self.assertRaises(grpc.RpcError) as caught:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)


if __name__ == "__main__":
    unittest.main()
