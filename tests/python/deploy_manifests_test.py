"""Checks deploy/ offline: every overlay renders with `kubectl kustomize`, yamllint passes, and
the rendered objects hang together: probes point at ports the containers expose, every image
is the overlay's, every referenced ConfigMap/Secret/Service/PVC is in the render, the flags the
manifests pass are flags the daemons have, and the job ConfigMap is a valid job.

Needs kubectl and yamllint (scripts/install-deps.sh provides both), PyYAML (in .venv with
transformers) and the built binaries ($STAR_BIN_DIR).

Run as a script (CTest does: `python deploy_manifests_test.py -v`). It exits 0 when every test
passed, 1 when any failed, and 77 (CTest's SKIP_RETURN_CODE) only when kubectl or yamllint is
missing and every test that could run passed. A missing tool skips the tests that need it,
naming it, except where the environment variable CI is set: there it fails them.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

SOURCE = os.environ.get("STAR_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(SOURCE, "deploy")
BIN = os.environ.get("STAR_BIN_DIR", os.path.join(SOURCE, "build", "release", "bin"))
OVERLAYS = sorted(os.listdir(os.path.join(DEPLOY, "overlays")))
NAMESPACE = "star"
SHARED_PATH = "/var/lib/star"
# The image tag each overlay must run.
EXPECTED_IMAGE = {"cpu": "star:cpu", "gpu": "star:gpu"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                  "StorageClass", "CustomResourceDefinition"}
DAEMONS = {"star-coordinator", "star-worker", "star-trainer"}
KUBECTL_HINT = ("scripts/install-deps.sh installs Debian's kubernetes-client where no kubectl "
                "exists")
YAMLLINT_HINT = "Debian package 'yamllint'; scripts/install-deps.sh installs it"


# The exit status that CTest reports as a skipped test (SKIP_RETURN_CODE in tests/CMakeLists.txt).
SKIP_EXIT_CODE = 77


def in_ci():
    return os.environ.get("CI", "") not in ("", "0", "false")


def require_tool(name, hint):
    """The path of `name` on PATH; when it is missing, skips (unittest.SkipTest naming it) or,
    with CI set, fails."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not on PATH ({hint})"
    if in_ci():
        raise AssertionError(f"{message}; CI is set, so a missing tool fails instead of skipping")
    raise unittest.SkipTest(message)


def require_binary(name):
    """$STAR_BIN_DIR/NAME, which must be built (CTest runs this after the build)."""
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        raise AssertionError(f"{path} is not built (build the star, star-coordinator, "
                             "star-worker and star-trainer targets first)")
    return path


# Kubernetes resource quantities: binary and decimal suffixes.
QUANTITY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
                     "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "": 1}


def quantity_bytes(quantity):
    match = re.fullmatch(r"([0-9.]+)([KMGTP]i|[kMGTP]|)", str(quantity))
    if not match:
        raise AssertionError(f"cannot read the quantity {quantity!r}")
    return float(match.group(1)) * QUANTITY_SUFFIXES[match.group(2)]


def render(overlay):
    kubectl = require_tool("kubectl", KUBECTL_HINT)
    result = subprocess.run([kubectl, "kustomize", os.path.join(DEPLOY, "overlays", overlay)],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {overlay} failed:\n{result.stderr}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def pod_spec(obj):
    spec = obj["spec"]
    if obj["kind"] == "Job":
        return spec["template"]["spec"]
    return spec["template"]["spec"]


def containers(obj):
    spec = pod_spec(obj)
    return spec.get("initContainers", []) + spec.get("containers", [])


def flags_of(container):
    """--name=value and --name value pairs of a container's command and args."""
    argv = container.get("command", []) + container.get("args", [])
    flags = {}
    for i, arg in enumerate(argv):
        if not arg.startswith("--"):
            continue
        if "=" in arg:
            name, value = arg[2:].split("=", 1)
        else:
            name = arg[2:]
            value = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("--") else ""
        flags[name] = value
    return flags


class RenderedOverlaysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tool("kubectl", KUBECTL_HINT)
        cls.renders = {overlay: render(overlay) for overlay in OVERLAYS}

    def objects(self, overlay, kind=None):
        return [o for o in self.renders[overlay] if kind is None or o["kind"] == kind]

    def named(self, overlay, kind, name):
        found = [o for o in self.objects(overlay, kind) if o["metadata"]["name"] == name]
        self.assertEqual(len(found), 1, f"{overlay}: {kind}/{name} is not in the render once")
        return found[0]

    def test_overlays_cpu_and_gpu_exist(self):
        self.assertEqual(OVERLAYS, ["cpu", "gpu"])

    def test_every_object_is_named_and_namespaced(self):
        for overlay in OVERLAYS:
            for obj in self.objects(overlay):
                with self.subTest(overlay=overlay, obj=f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"):
                    self.assertIn("apiVersion", obj)
                    self.assertTrue(obj["metadata"].get("name"))
                    if obj["kind"] not in CLUSTER_SCOPED:
                        self.assertEqual(obj["metadata"].get("namespace"), NAMESPACE)

    def test_every_container_runs_the_overlays_image(self):
        for overlay in OVERLAYS:
            images = {c["image"] for o in self.objects(overlay) if o["kind"] in WORKLOAD_KINDS
                      for c in containers(o)}
            self.assertEqual(images, {EXPECTED_IMAGE[overlay]}, overlay)

    def test_probes_point_at_ports_the_container_exposes(self):
        for overlay in OVERLAYS:
            for obj in self.objects(overlay):
                if obj["kind"] not in WORKLOAD_KINDS:
                    continue
                for c in containers(obj):
                    ports = {p["containerPort"]: p.get("name") for p in c.get("ports", [])}
                    names = {name: port for port, name in ports.items() if name}
                    for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
                        probe = c.get(probe_name)
                        if not probe:
                            continue
                        where = f"{overlay} {obj['metadata']['name']}/{c['name']} {probe_name}"
                        if "grpc" in probe:
                            # A gRPC probe names a number; it must be the port named grpc.
                            self.assertEqual(probe["grpc"]["port"], names.get("grpc"), where)
                        for kind in ("httpGet", "tcpSocket"):
                            if kind in probe:
                                port = probe[kind]["port"]
                                self.assertTrue(port in names or port in ports, f"{where}: {port}")

    def test_coordinator_has_native_grpc_liveness_and_readiness(self):
        for overlay in OVERLAYS:
            sts = self.named(overlay, "StatefulSet", "star-coordinator")
            self.assertEqual(sts["spec"]["replicas"], 1)
            c = containers(sts)[0]
            self.assertIn("grpc", c["livenessProbe"], overlay)
            self.assertIn("grpc", c["readinessProbe"], overlay)
            listen = flags_of(c)["listen"]
            self.assertEqual(int(listen.rsplit(":", 1)[1]), c["livenessProbe"]["grpc"]["port"])

    def test_referenced_configmaps_secrets_services_and_claims_exist(self):
        for overlay in OVERLAYS:
            have = {kind: {o["metadata"]["name"] for o in self.objects(overlay, kind)}
                    for kind in ("ConfigMap", "Secret", "Service", "PersistentVolumeClaim")}
            for obj in self.objects(overlay):
                if obj["kind"] not in WORKLOAD_KINDS:
                    continue
                name = obj["metadata"]["name"]
                spec = pod_spec(obj)
                claim_templates = obj["spec"].get("volumeClaimTemplates") or []
                self.assertIsInstance(claim_templates, list, f"{overlay} {name}: volumeClaimTemplates")
                templates = {t["metadata"]["name"] for t in claim_templates}
                for v in spec.get("volumes", []):
                    if "configMap" in v:
                        self.assertIn(v["configMap"]["name"], have["ConfigMap"], f"{overlay} {name}")
                    if "secret" in v:
                        self.assertIn(v["secret"]["secretName"], have["Secret"], f"{overlay} {name}")
                    if "persistentVolumeClaim" in v:
                        self.assertIn(v["persistentVolumeClaim"]["claimName"],
                                      have["PersistentVolumeClaim"] | templates, f"{overlay} {name}")
                for c in containers(obj):
                    for env in c.get("env", []):
                        ref = env.get("valueFrom", {})
                        if "configMapKeyRef" in ref:
                            self.assertIn(ref["configMapKeyRef"]["name"], have["ConfigMap"])
                        if "secretKeyRef" in ref:
                            self.assertIn(ref["secretKeyRef"]["name"], have["Secret"])
                    for source in c.get("envFrom", []):
                        if "configMapRef" in source:
                            self.assertIn(source["configMapRef"]["name"], have["ConfigMap"])
                        if "secretRef" in source:
                            self.assertIn(source["secretRef"]["name"], have["Secret"])
                    # --coordinator=HOST:PORT names a Service that exposes that port.
                    target = flags_of(c).get("coordinator")
                    if target:
                        host, port = target.rsplit(":", 1)
                        self.assertIn(host, have["Service"], f"{overlay} {name}")
                        service = self.named(overlay, "Service", host)
                        self.assertIn(int(port), [p["port"] for p in service["spec"]["ports"]])
                if obj["kind"] == "StatefulSet":
                    service = self.named(overlay, "Service", obj["spec"]["serviceName"])
                    self.assertEqual(service["spec"].get("clusterIP"), "None",
                                     f"{overlay}: {name}'s governing Service is not headless")

    def test_services_select_pods_and_name_their_ports(self):
        for overlay in OVERLAYS:
            workloads = [o for o in self.objects(overlay) if o["kind"] in WORKLOAD_KINDS]
            for service in self.objects(overlay, "Service"):
                selector = service["spec"]["selector"]
                selected = [w for w in workloads
                            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
                where = f"{overlay} Service/{service['metadata']['name']}"
                self.assertTrue(selected, f"{where} selects no pods")
                port_names = {p.get("name") for w in selected for c in containers(w)
                              for p in c.get("ports", [])}
                for p in service["spec"]["ports"]:
                    if isinstance(p.get("targetPort"), str):
                        self.assertIn(p["targetPort"], port_names, where)

    def test_service_monitor_scrapes_a_port_the_services_have(self):
        for overlay in OVERLAYS:
            monitor = self.named(overlay, "ServiceMonitor", "star")
            selector = monitor["spec"]["selector"]["matchLabels"]
            services = [s for s in self.objects(overlay, "Service")
                        if selector.items() <= s["metadata"].get("labels", {}).items()]
            for endpoint in monitor["spec"]["endpoints"]:
                scraped = [s["metadata"]["name"] for s in services
                           if endpoint["port"] in [p.get("name") for p in s["spec"]["ports"]]]
                self.assertEqual(sorted(scraped), ["star-coordinator", "star-trainer", "star-worker"])

    def test_metrics_annotations_flags_and_ports_agree(self):
        for overlay in OVERLAYS:
            for obj in self.objects(overlay):
                if obj["kind"] not in WORKLOAD_KINDS:
                    continue
                annotations = obj["spec"]["template"]["metadata"].get("annotations", {})
                self.assertEqual(annotations.get("prometheus.io/scrape"), "true")
                c = containers(obj)[0]
                metrics = [p["containerPort"] for p in c["ports"] if p.get("name") == "metrics"]
                self.assertEqual(metrics, [int(annotations["prometheus.io/port"])])
                self.assertEqual(int(flags_of(c)["metrics-port"]), metrics[0])

    def test_flags_in_the_manifests_are_flags_the_daemons_have(self):
        helps = {}
        for daemon in DAEMONS:
            path = require_binary(daemon)
            helps[daemon] = subprocess.run([path, "--help"], capture_output=True, text=True,
                                           timeout=60).stdout
        for overlay in OVERLAYS:
            for obj in self.objects(overlay):
                if obj["kind"] not in WORKLOAD_KINDS:
                    continue
                for c in containers(obj):
                    daemon = c["command"][0]
                    self.assertIn(daemon, DAEMONS)
                    for flag in flags_of(c):
                        self.assertRegex(helps[daemon], rf"\n  --{re.escape(flag)} ",
                                         f"{overlay}: {daemon} has no --{flag}")

    def test_shared_volume_is_read_write_many_at_one_path_and_is_the_state_dir(self):
        for overlay in OVERLAYS:
            claim = self.named(overlay, "PersistentVolumeClaim", "star-shared")
            self.assertIn("ReadWriteMany", claim["spec"]["accessModes"])
            for name in ("star-coordinator", "star-worker", "star-trainer"):
                obj = [o for o in self.objects(overlay)
                       if o["kind"] in WORKLOAD_KINDS and o["metadata"]["name"] == name][0]
                volume = [v["name"] for v in pod_spec(obj)["volumes"]
                          if v.get("persistentVolumeClaim", {}).get("claimName") == "star-shared"]
                self.assertEqual(len(volume), 1, f"{overlay} {name}")
                mounts = [m["mountPath"] for m in containers(obj)[0]["volumeMounts"]
                          if m["name"] == volume[0]]
                self.assertEqual(mounts, [SHARED_PATH], f"{overlay} {name}")
            coordinator = containers(self.named(overlay, "StatefulSet", "star-coordinator"))[0]
            self.assertEqual(flags_of(coordinator)["state-dir"], SHARED_PATH)

    def test_trainers_have_memory_shm_a_headless_service_and_long_grace(self):
        for overlay in OVERLAYS:
            sts = self.named(overlay, "StatefulSet", "star-trainer")
            spec = pod_spec(sts)
            self.assertGreaterEqual(spec["terminationGracePeriodSeconds"], 600)
            shm = [v for v in spec["volumes"] if v.get("emptyDir", {}).get("medium") == "Memory"]
            self.assertEqual(len(shm), 1)
            mounts = {m["name"]: m["mountPath"] for m in containers(sts)[0]["volumeMounts"]}
            self.assertEqual(mounts[shm[0]["name"]], "/dev/shm")
            self.assertIn("sizeLimit", shm[0]["emptyDir"], overlay)
            service = self.named(overlay, "Service", sts["spec"]["serviceName"])
            self.assertTrue(service["spec"].get("publishNotReadyAddresses"))
            # Other ranks reach rank 0 by its name under the headless Service.
            self.assertEqual(flags_of(containers(sts)[0])["hostname"],
                             f"$(POD_NAME).{sts['spec']['serviceName']}")

    def test_memory_emptydirs_are_smaller_than_the_memory_limit(self):
        # A memory-backed emptyDir's pages count against the container's memory limit: a
        # sizeLimit equal to the limit lets a full /dev/shm get the process OOM-killed.
        for overlay in OVERLAYS:
            for obj in self.objects(overlay):
                if obj["kind"] not in WORKLOAD_KINDS:
                    continue
                memory_volumes = {v["name"]: v["emptyDir"] for v in pod_spec(obj).get("volumes", [])
                                  if v.get("emptyDir", {}).get("medium") == "Memory"}
                for c in containers(obj):
                    for m in c.get("volumeMounts", []):
                        if m["name"] not in memory_volumes:
                            continue
                        where = f"{overlay} {obj['metadata']['name']}/{c['name']} {m['name']}"
                        limit = c.get("resources", {}).get("limits", {}).get("memory")
                        self.assertIsNotNone(limit, f"{where}: no memory limit")
                        size = memory_volumes[m["name"]].get("sizeLimit")
                        self.assertIsNotNone(size, f"{where}: no sizeLimit")
                        self.assertLess(quantity_bytes(size), quantity_bytes(limit),
                                        f"{where}: sizeLimit {size} is not below the limit {limit}")
                        requested = c["resources"].get("requests", {}).get("memory")
                        if requested:
                            self.assertLessEqual(quantity_bytes(requested), quantity_bytes(limit),
                                                 where)

    def test_quantities_read_as_kubernetes_does(self):
        self.assertEqual(quantity_bytes("16Gi"), 16 * 2**30)
        self.assertEqual(quantity_bytes("64Mi"), 64 * 2**20)
        self.assertEqual(quantity_bytes("1G"), 10**9)
        self.assertEqual(quantity_bytes("1.5Gi"), 1.5 * 2**30)
        self.assertEqual(quantity_bytes(1024), 1024)

    def test_only_the_gpu_overlay_asks_for_gpus(self):
        for overlay in OVERLAYS:
            for name in ("star-worker", "star-trainer"):
                obj = [o for o in self.objects(overlay)
                       if o["kind"] in WORKLOAD_KINDS and o["metadata"]["name"] == name][0]
                limits = containers(obj)[0]["resources"].get("limits", {})
                if overlay == "gpu":
                    self.assertGreaterEqual(int(limits.get("nvidia.com/gpu", 0)), 1, name)
                else:
                    self.assertNotIn("nvidia.com/gpu", limits, name)

    def test_workers_and_trainer_ranks_are_told_the_device_of_their_overlay(self):
        for overlay in OVERLAYS:
            for name in ("star-worker", "star-trainer"):
                obj = [o for o in self.objects(overlay)
                       if o["kind"] in WORKLOAD_KINDS and o["metadata"]["name"] == name][0]
                args = containers(obj)[0].get("args", [])
                want = "--device=cuda" if overlay == "gpu" else "--device=cpu"
                self.assertEqual([a for a in args if a.startswith("--device")], [want], name)

    def test_job_configmap_is_a_valid_job_for_the_trainer_ranks(self):
        star = require_binary("star")
        for overlay in OVERLAYS:
            # Named without a content hash (generatorOptions.disableNameSuffixHash), so that
            # editing the job does not roll the coordinator and lose its in-memory jobs.
            configmap = self.named(overlay, "ConfigMap", "star-job")
            coordinator = self.named(overlay, "StatefulSet", "star-coordinator")
            mounted = [v["configMap"]["name"] for v in pod_spec(coordinator)["volumes"]
                       if "configMap" in v]
            self.assertIn("star-job", mounted, overlay)
            text = configmap["data"]["job.yaml"]
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write(text)
                f.flush()
                result = subprocess.run([star, "submit", f.name, "--dry-run"],
                                        capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            world = yaml.safe_load(text)["training"]["world_size"]
            trainers = self.named(overlay, "StatefulSet", "star-trainer")
            self.assertEqual(trainers["spec"]["replicas"], world, overlay)

    def test_dashboard_configmap_carries_the_dashboard_for_the_sidecar(self):
        with open(os.path.join(DEPLOY, "grafana", "star-dashboard.json")) as f:
            dashboard = json.load(f)
        for overlay in OVERLAYS:
            configmap = self.named(overlay, "ConfigMap", "star-grafana-dashboard")
            self.assertEqual(configmap["metadata"]["labels"].get("grafana_dashboard"), "1")
            self.assertEqual(json.loads(configmap["data"]["star-dashboard.json"]), dashboard)


class YamllintTest(unittest.TestCase):
    def test_deploy_passes_yamllint_strict(self):
        yamllint = require_tool("yamllint", YAMLLINT_HINT)
        result = subprocess.run(
            [yamllint, "--strict", "-f", "parsable", "-c",
             os.path.join(DEPLOY, ".yamllint"), DEPLOY],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


def main():
    program = unittest.main(exit=False)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped:
        print(f"{len(result.skipped)} skipped for a missing tool; exiting {SKIP_EXIT_CODE}:",
              file=sys.stderr)
        for _, reason in result.skipped:
            print(f"  {reason}", file=sys.stderr)
        sys.exit(SKIP_EXIT_CODE)
    if result.testsRun == 0:
        print("no tests ran", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
