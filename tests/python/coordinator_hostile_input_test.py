"""Hostile input against a real coordinator, through the reference gRPC client (grpcio).

Every request is encoded here by hand as protobuf wire bytes, so that it can also be what no
generated client would send: invalid UTF-8 in a string field, bytes that are not a message at
all, a message over the size limit, out-of-range numbers, unknown ids. Each must be refused with
the right status code and a message naming the field (except the oversized message, which gRPC
refuses before reading it), and leave the coordinator's state as it was: no worker, trainer or
job appears.
"""

import os
import tempfile
import unittest

import grpc

from coordinator_process import CoordinatorProcess
from wire_format import number, text, varint


class CoordinatorHostileInputTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.coordinator = CoordinatorProcess(self.dir.name)
        self.channel = grpc.insecure_channel(self.coordinator.address)
        grpc.channel_ready_future(self.channel).result(timeout=30)

    def tearDown(self):
        self.channel.close()
        self.assertEqual(self.coordinator.stop(), 0)
        self.dir.cleanup()

    def call(self, method, request):
        """(status code, details, response bytes) of a unary call with raw bytes."""
        rpc = self.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            return grpc.StatusCode.OK, "", rpc(request, timeout=10)
        except grpc.RpcError as e:
            return e.code(), e.details() or "", b""

    def refused(self, method, request, code, fragment=None):
        got, details, _ = self.call(method, request)
        self.assertEqual(got, code, f"{method}: {details}")
        if fragment is not None:
            self.assertIn(fragment, details, method)

    def assert_untouched(self):
        """No worker or trainer registered, no job submitted."""
        code, details, cluster = self.call("/star.v1.Jobs/GetCluster", b"")
        self.assertEqual(code, grpc.StatusCode.OK, details)
        self.assertEqual(cluster, b"", "the cluster gained a member")
        code, details, jobs = self.call("/star.v1.Jobs/ListJobs", b"")
        self.assertEqual(code, grpc.StatusCode.OK, details)
        self.assertEqual(jobs, b"", "a job appeared")

    def test_invalid_utf8_in_a_string_field_is_refused_naming_the_field(self):
        # hostname = 0xff 0xfe: not UTF-8; proto3 strings must be.
        self.refused("/star.v1.Coordinator/RegisterWorker", text(1, b"\xff\xfe"),
                     grpc.StatusCode.INVALID_ARGUMENT,
                     "star.v1.RegisterWorkerRequest does not parse: hostname: not valid UTF-8 "
                     "(byte 0 of the field)")
        # Deep inside a submission: results[1].samples[0].completion, valid up to byte 3.
        good_result = number(1, 7) + text(2, text(1, "fine"))
        bad_result = number(1, 8) + text(2, text(1, b"abc\xc3(") + number(2, 1))
        request = (text(1, "w") + text(2, "l") + text(3, "s") + text(4, good_result) +
                   text(4, bad_result))
        self.refused("/star.v1.Coordinator/SubmitShardResult", request,
                     grpc.StatusCode.INVALID_ARGUMENT,
                     "results[1].samples[0].completion: not valid UTF-8 (byte 3 of the field)")
        # A server-streaming method: WatchJob's job_id.
        stream = self.channel.unary_stream("/star.v1.Jobs/WatchJob", request_serializer=None,
                                           response_deserializer=None)
        with self.assertRaises(grpc.RpcError) as caught:
            list(stream(text(1, b"job-\xed\xa0\x80"), timeout=10))  # a UTF-16 surrogate
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("star.v1.GetJobRequest does not parse: job_id: not valid UTF-8 (byte 4 ",
                      caught.exception.details())
        self.assert_untouched()

    def test_bytes_that_are_not_a_message_are_refused(self):
        self.refused("/star.v1.Coordinator/RegisterWorker", b"\xff\xff\xff\xff\xff",
                     grpc.StatusCode.INVALID_ARGUMENT,
                     "star.v1.RegisterWorkerRequest does not parse: malformed wire data at byte 0")
        # A length that runs past the end: hostname says 50 bytes, 3 follow.
        self.refused("/star.v1.Coordinator/RegisterWorker", varint(1 << 3 | 2) + varint(50) + b"abc",
                     grpc.StatusCode.INVALID_ARGUMENT, "hostname: malformed wire data")
        self.assert_untouched()

    def test_an_oversized_message_is_refused(self):
        # One completion of 65 MiB: over the coordinator's 64 MiB receive limit.
        sample = text(1, b"9" * (65 << 20))
        request = text(1, "w") + text(2, "l") + text(3, "s") + text(4, number(1, 1) + text(2, sample))
        self.refused("/star.v1.Coordinator/SubmitShardResult", request,
                     grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assert_untouched()

    def test_fields_out_of_range_are_named(self):
        self.refused("/star.v1.Coordinator/RegisterWorker", text(1, "h" * 300),
                     grpc.StatusCode.INVALID_ARGUMENT, "hostname")
        self.refused("/star.v1.Coordinator/RegisterWorker", b"",
                     grpc.StatusCode.INVALID_ARGUMENT, "hostname is required")
        self.refused("/star.v1.Training/JoinRound",
                     text(1, "t0") + text(2, "127.0.0.1") + number(5, 70000),
                     grpc.StatusCode.INVALID_ARGUMENT, "store_port 70000")
        self.refused("/star.v1.Training/JoinRound", text(2, "127.0.0.1"),
                     grpc.StatusCode.INVALID_ARGUMENT, "trainer_id")
        self.refused("/star.v1.Coordinator/SubmitShardResult",
                     text(1, "w" * 500) + text(2, "l") + text(3, "s"),
                     grpc.StatusCode.INVALID_ARGUMENT, "worker_id")
        self.assert_untouched()

    def test_unknown_ids_are_not_found(self):
        self.refused("/star.v1.Coordinator/LeaseShard", text(1, "w-nobody"),
                     grpc.StatusCode.NOT_FOUND, "w-nobody")
        self.refused("/star.v1.Coordinator/RenewLease", text(1, "w-nobody") + text(2, "l-1"),
                     grpc.StatusCode.NOT_FOUND, "w-nobody")
        self.refused("/star.v1.Coordinator/SubmitShardResult",
                     text(1, "w-nobody") + text(2, "l-1") + text(3, "s-1"),
                     grpc.StatusCode.NOT_FOUND, "w-nobody")
        self.refused("/star.v1.Jobs/GetJob", text(1, "no-such-job"), grpc.StatusCode.NOT_FOUND,
                     "no-such-job")
        self.refused("/star.v1.Jobs/CancelJob", text(1, "no-such-job"),
                     grpc.StatusCode.NOT_FOUND, "no-such-job")
        self.assert_untouched()

    def test_a_registered_worker_cannot_submit_for_an_unknown_shard_or_renew_an_unknown_lease(self):
        code, details, response = self.call("/star.v1.Coordinator/RegisterWorker", text(1, "host"))
        self.assertEqual(code, grpc.StatusCode.OK, details)
        # RegisterWorkerResponse.worker_id is field 1.
        self.assertEqual(response[0], 0x0A)
        worker_id = response[2:2 + response[1]].decode()
        self.refused("/star.v1.Coordinator/SubmitShardResult",
                     text(1, worker_id) + text(2, "l-1") + text(3, "s-unknown"),
                     grpc.StatusCode.NOT_FOUND, "shard_id 's-unknown'")
        self.refused("/star.v1.Coordinator/RenewLease", text(1, worker_id) + text(2, "l-unknown"),
                     grpc.StatusCode.NOT_FOUND, "lease_id 'l-unknown'")
        # No shard is queued: a lease comes back empty after the wait.
        code, details, lease = self.call("/star.v1.Coordinator/LeaseShard",
                                         text(1, worker_id) + number(2, 10))
        self.assertEqual((code, lease), (grpc.StatusCode.OK, b""), details)

    def test_an_invalid_job_is_refused_naming_the_field(self):
        # A JobSpec with only a name: no task, no model, no iterations.
        self.refused("/star.v1.Jobs/SubmitJob", text(1, text(1, "bad")),
                     grpc.StatusCode.INVALID_ARGUMENT, "spec: task")
        self.assert_untouched()

    def test_a_job_name_that_leaves_the_state_directory_is_refused(self):
        # The name becomes the job id and a folder under --state-dir (DIR/state): the first
        # name would have made DIR/escaped-by-name-1.
        before = sorted(os.listdir(self.dir.name))
        for name in ("../../escaped-by-name", ".hidden", "a/b"):
            self.refused("/star.v1.Jobs/SubmitJob", text(1, text(1, name)),
                         grpc.StatusCode.INVALID_ARGUMENT,
                         f"spec: name: '{name}' may hold only letters, digits")
        self.assertEqual(sorted(os.listdir(self.dir.name)), before)
        self.assert_untouched()

    def test_a_job_with_world_size_zero_is_refused_not_a_crash(self):
        # A JobSpec with a task (field 2: an empty addition) and training (field 6) with
        # global_batch_size (8) = 32 and world_size (9) = 0. Validation used to compute the
        # modulo by world_size for every spec; an unoptimised build (the asan preset, where this
        # test runs too) then died of SIGFPE here (found by fuzz/job_config_fuzzer).
        spec = text(1, "x") + text(2, text(1, b"")) + text(6, number(8, 32) + number(9, 0))
        code, details, _ = self.call("/star.v1.Jobs/SubmitJob", text(1, spec))
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT, details)
        self.assertIsNone(self.coordinator.process.poll(), "the coordinator died")
        self.assert_untouched()


if __name__ == "__main__":
    unittest.main()
