"""deploy/k8s/*.yaml: valid Kubernetes objects (offline, kubernetes-validate's bundled schemas) that agree
with each other, with the Dockerfile and with the app's settings."""
from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
#: the oldest Kubernetes minor still commonly run, and the newest whose schemas the package bundles
VERSIONS = ("1.28.0", kubernetes_validate.latest_version())


def documents() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


def one(kind: str) -> dict:
    found = [d for _, d in documents() if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container() -> dict:
    return one("Deployment")["spec"]["template"]["spec"]["containers"][0]


def test_the_manifests_exist():
    kinds = {d["kind"] for _, d in documents()}
    assert {"Deployment", "Service", "PersistentVolumeClaim", "Secret", "ConfigMap"} <= kinds


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "doc"), documents(), ids=lambda x: x if isinstance(x, str) else x.get("kind"))
def test_each_manifest_is_valid_against_the_kubernetes_schema(name, doc, version):
    # strict: a misspelt field (e.g. "readinesProbe") is an error, not silently ignored by the cluster
    kubernetes_validate.validate(doc, version, strict=True)


def test_a_misspelt_field_is_caught_so_the_validation_can_fail():
    broken = yaml.safe_load((K8S / "deployment.yaml").read_text())
    c = broken["spec"]["template"]["spec"]["containers"][0]
    c["readinesProbe"] = c.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[0], strict=True)


def test_probes_watch_streamlits_health_endpoint_on_the_app_port():
    c = container()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    expose = re.search(r"^EXPOSE (\d+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert expose and ports["http"] == int(expose.group(1))
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}, probe


def test_the_pod_runs_as_the_images_non_root_user_with_a_read_only_root_and_limits():
    pod = one("Deployment")["spec"]["template"]["spec"]
    uid = re.search(r"useradd .*--uid (\d+)", (ROOT / "Dockerfile").read_text())
    assert uid and pod["securityContext"]["runAsUser"] == int(uid.group(1))
    assert pod["securityContext"]["runAsNonRoot"] is True
    c = container()
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    writable = {m["mountPath"] for m in c["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert {"/tmp", env["HOME"], env["CQOX_DATA_DIR"]} <= writable  # where Streamlit and the store write
    for kind in ("requests", "limits"):
        assert set(c["resources"][kind]) == {"cpu", "memory"}
    assert "command" not in c and "args" not in c  # the Dockerfile's CMD is the one start command, tested


def test_secrets_configuration_and_volumes_are_wired_by_name():
    secret, config, pvc = one("Secret"), one("ConfigMap"), one("PersistentVolumeClaim")
    c = container()
    refs = {e["name"]: e["valueFrom"] for e in c["env"] if "valueFrom" in e}
    for name in ("CQOX_ADMIN_PASSWORD", "CQOX_COOKIE_KEY", "CQOX_DATABASE_URL"):
        assert refs[name]["secretKeyRef"]["name"] == secret["metadata"]["name"]
        assert refs[name]["secretKeyRef"]["key"] in secret["stringData"]
    assert refs["CQOX_DATABASE_URL"]["secretKeyRef"].get("optional") is True  # embedded store without it
    assert refs["RAY_ADDRESS"]["configMapKeyRef"] == {"name": config["metadata"]["name"], "key": "RAY_ADDRESS",
                                                      "optional": True}
    assert c["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
    volumes = {v["name"]: v for v in one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert secret["stringData"]["CQOX_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert all("REPLACE" in v for v in secret["stringData"].values())  # placeholders only, never a real secret


def test_the_service_reaches_the_pods_with_session_affinity_and_exposes_metrics():
    service, deployment = one("Service"), one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["sessionAffinity"] == "ClientIP"  # the Streamlit websocket stays on one pod
    targets = {p["targetPort"] for p in service["spec"]["ports"]}
    assert targets == {p["name"] for p in container()["ports"]}
    env = {e["name"]: e.get("value") for e in container()["env"]}
    metrics = next(p["containerPort"] for p in container()["ports"] if p["name"] == "metrics")
    assert env["CQOX_METRICS_PORT"] == str(metrics) and env["CQOX_METRICS_ADDRESS"] == "0.0.0.0"
    assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(metrics)
    ingress = one("Ingress")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}


def test_the_readme_says_replicas_above_one_need_postgresql():
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "replicas > 1 require the PostgreSQL store" in text
    assert one("Deployment")["spec"]["replicas"] == 1  # the default works with the embedded store
