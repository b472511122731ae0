"""The deploy files, validated as far as a machine without a container engine allows.

Kubernetes manifests are checked against the Kubernetes JSON schemas (kubernetes-validate,
strict), overlays by applying their patches to the base; the compose file against the
compose-spec schema (check-jsonschema); and the security properties we promise are
asserted on the parsed files. Nothing here builds or runs an image.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from support.harness import ROOT

DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30.0"
SERVICES = {"identity": 50051, "card": 50052, "pharmacy": 50053, "billing": 50054}


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomization_resources(folder: Path) -> list[dict]:
    kust = yaml.safe_load((folder / "kustomization.yaml").read_text())
    docs: list[dict] = []
    for resource in kust.get("resources", []):
        target = folder / resource
        docs += kustomization_resources(target) if target.is_dir() else documents(target)
    for patch in kust.get("patches", []):
        change = yaml.safe_load((folder / patch["path"]).read_text())
        kind = patch["target"]["kind"]
        matched = [d for d in docs if d["kind"] == kind]
        assert matched, f"patch {patch['path']} matches nothing"
        for doc in matched:
            doc["spec"] = merge(doc["spec"], change["spec"])
    return docs


def merge(base: dict, change: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in change.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and key in out else value
    return out


@pytest.mark.parametrize("overlay", ["base", "overlays/dev", "overlays/prod"])
def test_every_rendered_manifest_matches_the_kubernetes_schema(overlay):
    docs = kustomization_resources(DEPLOY / "k8s" / overlay)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for name in SERVICES:
        assert ("Deployment", name) in kinds and ("Service", name) in kinds


def test_pods_are_non_root_read_only_bounded_and_probed_over_grpc():
    docs = kustomization_resources(DEPLOY / "k8s" / "base")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for name, port in SERVICES.items():
        pod = deployments[name]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"] and container["resources"]["limits"]
        for probe in ("readinessProbe", "livenessProbe"):
            command = container[probe]["exec"]["command"]
            assert "medpay_kit.healthcheck" in command and f"localhost:{port}" in command
        assert container["args"] == [name]


def test_network_policies_deny_by_default_and_allow_only_the_architectures_arrows():
    docs = documents(DEPLOY / "k8s" / "base" / "networkpolicies.yaml")
    policies = {d["metadata"]["name"]: d for d in docs}
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {}

    def peers(service: str) -> set[str]:
        allowed = set()
        for rule in policies[f"{service}-ingress"]["spec"]["ingress"]:
            for source in rule["from"]:
                for expr in source.get("podSelector", {}).get("matchExpressions", []):
                    allowed |= set(expr["values"])
        return allowed

    assert peers("card") == {"pharmacy", "billing"}
    assert peers("identity") == {"card", "billing"}
    assert peers("pharmacy") == set() and peers("billing") == set()
    assert peers("postgres") == set(SERVICES)


def test_compose_file_matches_the_compose_spec_and_runs_the_whole_system():
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(DEPLOY / "compose.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert set(SERVICES) | {"postgres", "otel-collector", "jaeger"} <= set(compose["services"])
    for name in SERVICES:
        service = compose["services"][name]
        assert service["command"] == [name] and service["read_only"] is True


def test_the_image_is_multi_stage_and_runs_as_a_non_root_user():
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and not users[-1].startswith(("0", "root"))
