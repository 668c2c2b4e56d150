"""Every field of every request of the coordinator's three services, hostile, one at a time.

The fields are not listed here: they are walked from the API's compiled descriptors
($STAR_API_DESCRIPTORS, built from proto/), so a field added to the proto is audited without
editing this file. For each request message, a baseline request that gets past the first checks
(a registered worker, a trainer, a valid job spec under the coordinator's data root) is sent
with one field, at any depth, replaced by each hostile value that applies to its type: empty,
NUL, invalid UTF-8, path traversal, a 4 MiB string; negative, overflowing and maximal numbers;
NaN and infinities; unknown enum values. Every reply must be a proper status (never INTERNAL,
UNKNOWN, UNAVAILABLE or a deadline: no crash, no hang), every refusal must leave the
coordinator's state (jobs, workers, trainers) as it was, and the values no valid request can
carry must be refused: invalid UTF-8 anywhere, and in a job spec a path-like or NUL-holding
string, a float that is not finite, an enum value the API does not define.
"""

import math
import os
import struct
import tempfile
import unittest

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor as FD

from coordinator_process import CoordinatorProcess
from wire_format import tag, varint

SERVICES = ("star.v1.Coordinator", "star.v1.Jobs", "star.v1.Training")

# Codes that mean the coordinator failed rather than refused.
FAILURES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNIMPLEMENTED,
            grpc.StatusCode.DATA_LOSS, grpc.StatusCode.CANCELLED}

# Long-polls wait at most 30 s on the server; anything longer is a hang.
CALL_TIMEOUT_S = 45

HUGE = b"x" * (4 << 20)


VARINT_TYPES = {FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_BOOL,
                FD.TYPE_ENUM}


def hostile_values(field):
    """(label, encoded field bytes) for every hostile value that applies to the field's type."""
    t, n = field.type, field.number
    if t in (FD.TYPE_STRING, FD.TYPE_BYTES):
        values = [("empty", b""), ("NUL", b"a\x00b"), ("invalid UTF-8", b"\xff\xfe"),
                  ("traversal", b"../../../../etc/passwd"), ("root", b"/"), ("4 MiB", HUGE)]
        return [(label, tag(n, 2) + varint(len(v)) + v) for label, v in values]
    if t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        fmt, wire = ("<f", 5) if t == FD.TYPE_FLOAT else ("<d", 1)
        return [(label, tag(n, wire) + struct.pack(fmt, v))
                for label, v in (("NaN", math.nan), ("+Inf", math.inf), ("-Inf", -math.inf),
                                 ("-1", -1.0), ("huge", 3e38))]
    if t == FD.TYPE_ENUM:
        return [("unknown enum", tag(n, 0) + varint(12345)), ("negative enum", tag(n, 0) + varint(-1))]
    if t == FD.TYPE_BOOL:
        return [("bool 2", tag(n, 0) + varint(2))]
    if t in (FD.TYPE_UINT32,):
        return [("0", tag(n, 0) + varint(0)), ("2^32-1", tag(n, 0) + varint(2**32 - 1)),
                ("2^40 (overflows 32 bits)", tag(n, 0) + varint(2**40))]
    if t in (FD.TYPE_UINT64,):
        return [("0", tag(n, 0) + varint(0)), ("2^64-1", tag(n, 0) + varint(2**64 - 1))]
    if t in (FD.TYPE_INT32, FD.TYPE_INT64):
        return [("-1", tag(n, 0) + varint(-1)), ("int64 max", tag(n, 0) + varint(2**63 - 1)),
                ("int64 min", tag(n, 0) + varint(-2**63))]
    raise AssertionError(f"{field.full_name}: type {t} has no hostile values; add them here")


def walk(message, path=(), depth=0):
    """(dotted path, [field descriptors from the top], field) for every scalar field, recursing
    into message fields (repeated ones included) up to a depth that covers the API."""
    for field in message.fields:
        chain = path + (field,)
        if field.type == FD.TYPE_MESSAGE:
            if depth < 4:
                yield from walk(field.message_type, chain, depth + 1)
        else:
            yield ".".join(f.name for f in chain), chain


def nest(chain, leaf_bytes):
    """The leaf field's bytes wrapped in each enclosing message field: appended to a serialized
    request, protobuf merges them into the baseline (a repeated field gets one more element)."""
    data = leaf_bytes
    for field in reversed(chain[:-1]):
        data = tag(field.number, 2) + varint(len(data)) + data
    return data


class RequestFieldAuditTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.environ["STAR_API_DESCRIPTORS"], "rb") as f:
            files = descriptor_pb2.FileDescriptorSet.FromString(f.read())
        cls.pool = descriptor_pool.DescriptorPool()
        for file in files.file:
            cls.pool.AddSerializedFile(file.SerializeToString())

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        # The baseline job's model: a folder under the coordinator's data root.
        os.makedirs(os.path.join(self.dir.name, "model"))
        self.coordinator = CoordinatorProcess(self.dir.name,
                                              ["--data-root", self.dir.name,
                                               "--lease-timeout-seconds", "600"])
        self.channel = grpc.insecure_channel(
            self.coordinator.address,
            options=[("grpc.max_send_message_length", 64 << 20)])
        grpc.channel_ready_future(self.channel).result(timeout=30)

    def tearDown(self):
        self.channel.close()
        self.assertEqual(self.coordinator.stop(), 0)
        self.dir.cleanup()

    def cls(self, full_name):
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(full_name))

    def call(self, method, request_bytes, streaming):
        path = "/" + method.containing_service.full_name + "/" + method.name
        try:
            if streaming:
                rpc = self.channel.unary_stream(path, request_serializer=None,
                                                response_deserializer=None)
                return grpc.StatusCode.OK, "", list(rpc(request_bytes, timeout=CALL_TIMEOUT_S))
            rpc = self.channel.unary_unary(path, request_serializer=None,
                                           response_deserializer=None)
            return grpc.StatusCode.OK, "", rpc(request_bytes, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as e:
            return e.code(), e.details() or "", None

    def ok(self, service, method, request):
        m = self.pool.FindServiceByName(service).FindMethodByName(method)
        code, details, response = self.call(m, request.SerializeToString(), m.server_streaming)
        self.assertEqual(code, grpc.StatusCode.OK, f"{service}/{method}: {details}")
        return response

    def state(self):
        """What a refusal must not change: the jobs (id, name, spec) and the cluster's members."""
        cluster = self.cls("star.v1.ClusterStatus").FromString(
            self.ok("star.v1.Jobs", "GetCluster", self.cls("star.v1.GetClusterRequest")()))
        jobs = self.cls("star.v1.ListJobsResponse").FromString(
            self.ok("star.v1.Jobs", "ListJobs", self.cls("star.v1.ListJobsRequest")()))
        return (sorted((w.worker_id, w.hostname) for w in cluster.workers),
                sorted((t.trainer_id, t.hostname, t.has_cuda) for t in cluster.trainers),
                sorted((j.job_id, j.spec.SerializeToString(deterministic=True)) for j in jobs.jobs))

    def baselines(self):
        """A request per input type that passes the first checks of its method."""
        register = self.cls("star.v1.RegisterWorkerRequest")(hostname="audit", batch_size=4,
                                                             version="audit")
        worker_id = self.cls("star.v1.RegisterWorkerResponse").FromString(
            self.ok("star.v1.Coordinator", "RegisterWorker", register)).worker_id
        spec = self.cls("star.v1.JobSpec")(name="audit", iterations=1, shard_size=4,
                                           lease_timeout_seconds=60, seed=3)
        spec.task.addition.min_digits = 1
        spec.task.addition.max_digits = 2
        spec.task.addition.train_questions = 8
        spec.task.addition.eval_questions_per_length = 2
        spec.model.base_checkpoint = os.path.join(self.dir.name, "model")
        spec.generation.max_new_tokens = 40
        spec.generation.top_p = 1
        spec.generation.samples_per_question = 1
        spec.generation.batch_size = 8
        spec.training.initial_steps = 1
        spec.training.learning_rate = 0.001
        spec.training.global_batch_size = 4
        spec.training.world_size = 1
        return {
            "star.v1.RegisterWorkerRequest": register,
            "star.v1.LeaseShardRequest": self.cls("star.v1.LeaseShardRequest")(worker_id=worker_id),
            "star.v1.RenewLeaseRequest": self.cls("star.v1.RenewLeaseRequest")(
                worker_id=worker_id, lease_id="lease-audit"),
            "star.v1.SubmitShardResultRequest": self.cls("star.v1.SubmitShardResultRequest")(
                worker_id=worker_id, lease_id="lease-audit", shard_id="shard-audit"),
            "star.v1.SubmitJobRequest": self.cls("star.v1.SubmitJobRequest")(spec=spec),
            "star.v1.JoinRoundRequest": self.cls("star.v1.JoinRoundRequest")(
                trainer_id="trainer-audit", hostname="127.0.0.1", store_port=1),
            "star.v1.StreamExamplesRequest": self.cls("star.v1.StreamExamplesRequest")(
                round_id="round-audit"),
            "star.v1.ReportRoundRequest": self.cls("star.v1.ReportRoundRequest")(
                round_id="round-audit"),
            "star.v1.ReportStepRequest": self.cls("star.v1.ReportStepRequest")(
                round_id="round-audit"),
        }

    @staticmethod
    def must_refuse(method, chain, label):
        """The hostile values that no valid request can carry."""
        if label == "invalid UTF-8":
            return True
        leaf = chain[-1]
        if method.full_name == "star.v1.Jobs.SubmitJob":
            if leaf.type == FD.TYPE_STRING and label != "empty":
                return True  # a job name or a path: none of these is a safe name or a root's file
            if leaf.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE) and label in ("NaN", "+Inf", "-Inf"):
                return True
            if leaf.type == FD.TYPE_ENUM:
                return True
        return False

    def test_every_field_of_every_request_is_refused_properly_or_accepted(self):
        baselines = self.baselines()
        methods = [m for name in SERVICES for m in self.pool.FindServiceByName(name).methods]
        self.assertGreaterEqual(len(methods), 14)
        audited = 0
        problems = []
        for method in methods:
            if not method.input_type.fields:
                continue  # ListJobs, GetCluster: nothing to send
            base = baselines.get(method.input_type.full_name)
            base_bytes = base.SerializeToString() if base is not None else b""
            for path, chain in walk(method.input_type):
                for label, leaf in hostile_values(chain[-1]):
                    before = self.state()
                    code, details, _ = self.call(method, base_bytes + nest(chain, leaf),
                                                 method.server_streaming)
                    audited += 1
                    where = f"{method.full_name} {path} = {label}: {code.name} {details[:200]}"
                    if self.coordinator.process.poll() is not None:
                        self.fail(f"the coordinator died at {where}")
                    if code in FAILURES:
                        problems.append(f"not a proper refusal: {where}")
                        continue
                    if code != grpc.StatusCode.OK:
                        if self.state() != before:
                            problems.append(f"a refusal changed the state: {where}")
                        continue
                    if self.must_refuse(method, chain, label):
                        problems.append(f"accepted a value it must refuse: {where}")
                    if method.full_name == "star.v1.Jobs.SubmitJob":
                        # One job runs at a time: the accepted one makes way for the next case.
                        for job in self.cls("star.v1.ListJobsResponse").FromString(self.ok(
                                "star.v1.Jobs", "ListJobs",
                                self.cls("star.v1.ListJobsRequest")())).jobs:
                            if job.state in (1, 2):  # pending, running
                                self.ok("star.v1.Jobs", "CancelJob",
                                        self.cls("star.v1.CancelJobRequest")(job_id=job.job_id))
        self.assertEqual(problems, [], f"{len(problems)} of {audited} hostile requests:\n" +
                         "\n".join(problems))
        # Every type that has a field is audited; the count keeps a silent walk from passing.
        self.assertGreater(audited, 300)


if __name__ == "__main__":
    unittest.main()
