#!/usr/bin/env bash
# Renders the Kubernetes manifests (deploy/, kustomize through `kubectl kustomize`) into a temp
# file and checks the render:
#   - every object against the OpenAPI schemas of each Kubernetes version in AIC_K8S_VERSIONS,
#     with PyPI's kubernetes-validate in strict mode (an unknown or misspelt field fails, as
#     server-side field validation would at `kubectl apply`); an object whose kind or apiVersion
#     has no schema fails too (the tool's own CLI only warns about it);
#   - what no schema sees: each HorizontalPodAutoscaler targets a workload of the render (that
#     sets no `replicas` the HPA would fight with), each Service and PodDisruptionBudget selects
#     some workload's pods, Service target ports and probe ports name container ports, $(VAR)
#     references in command/args name env vars of the container, a StatefulSet's serviceName
#     is a headless Service, ConfigMap volumes name ConfigMaps of the render;
#   - itself: the same checks on two broken copies of the render (an unknown field in a pod
#     spec; an HPA aimed at a missing Deployment) must fail, so a check that quietly stopped
#     checking shows up here.
# Then prints the kinds and names rendered. Exits non-zero on any finding.
#
# Usage: bash scripts/validate-manifests.sh [KUSTOMIZE_DIR]     (default: deploy)
# Env:   AIC_CACHE         cache root (default ~/.cache/aic); the Python venv is
#                          $AIC_CACHE/test-venv, the one scripts/test.sh uses.
#        AIC_K8S_VERSIONS  Kubernetes versions to validate against (default "1.31 1.37": the
#                          oldest the manifests support and the newest the pinned
#                          kubernetes-validate bundles).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${1:-deploy}"
CACHE="${AIC_CACHE:-$HOME/.cache/aic}"
VENV="$CACHE/test-venv"
KV_VERSION=1.37.0
K8S_VERSIONS="${AIC_K8S_VERSIONS:-1.31 1.37}"

# kubectl with kustomize v5 (kubectl >= 1.27) renders the tree; no cluster is contacted.
if ! command -v kubectl >/dev/null 2>&1; then
  bash scripts/apt-install.sh kubectl || true
  command -v kubectl >/dev/null 2>&1 || {
    echo "scripts/validate-manifests.sh: no kubectl, and apt could not install one; install kubectl >= 1.27" >&2
    exit 1
  }
fi
kustomize_major=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9][0-9]*\).*/\1/p' || true)
if [ "${kustomize_major:-0}" -lt 5 ]; then
  echo "scripts/validate-manifests.sh: kubectl's kustomize is older than v5 ($(kubectl version --client 2>&1 | tr '\n' ' ')); install kubectl >= 1.27" >&2
  exit 1
fi

# kubernetes-validate, pinned, in the shared venv (installed once; later runs need no network).
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$KV_VERSION')" 2>/dev/null; then
  echo "installing kubernetes-validate==$KV_VERSION into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KV_VERSION"
fi

RENDER=$(mktemp "${TMPDIR:-/tmp}/aic-manifests.XXXXXX")
trap 'rm -f "$RENDER"' EXIT
kubectl kustomize "$DIR" >"$RENDER" || {
  echo "scripts/validate-manifests.sh: kubectl kustomize $DIR failed" >&2
  exit 1
}

"$VENV/bin/python" - "$RENDER" "$DIR" "$K8S_VERSIONS" "$SECONDS" <<'PY'
import collections
import copy
import re
import sys
import time

import yaml
import kubernetes_validate as kv
from kubernetes_validate import utils as kvu

T0 = time.monotonic()
render, src, versions, elapsed_before = sys.argv[1], sys.argv[2], sys.argv[3].split(), int(sys.argv[4])
with open(render) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]

bundled = sorted({kvu.major_minor(v) for v in kvu.all_versions()}, key=lambda v: tuple(map(int, v.split("."))))
for v in versions:
    if kvu.major_minor(v.lstrip("v")) not in bundled:
        sys.exit(f"kubernetes-validate {kv.version.__version__} has no schemas for Kubernetes {v}; "
                 f"it bundles {', '.join(bundled)}")

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}


def ns(o):
    return o.get("metadata", {}).get("namespace", "")


def ref(o):
    n = ns(o)
    return f"{o.get('kind')}/{(n + '/') if n else ''}{o.get('metadata', {}).get('name')}"


def schema_errors(objs):
    errs = []
    for v in versions:
        for o in objs:
            try:
                kv.validate(o, v, strict=True)
            except kv.ValidationError as e:
                path = ".".join(str(p) for p in e.path) or "(top level)"
                errs.append(f"{ref(o)}: Kubernetes {v} schema: {path}: {e.message}")
            except (kv.SchemaNotFoundError, kv.InvalidSchemaError) as e:
                errs.append(f"{ref(o)}: {e.message}")
    return errs


def containers(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec.get("containers", [])


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def reference_errors(objs):
    errs = []
    by_kind = collections.defaultdict(dict)
    for o in objs:
        by_kind[o["kind"]][(ns(o), o["metadata"]["name"])] = o
    workloads = [o for o in objs if o["kind"] in WORKLOADS]

    def pods_selected(o, selector):
        return [w for w in workloads if ns(w) == ns(o)
                and selects(selector, w["spec"]["template"]["metadata"].get("labels", {}))]

    for o in by_kind["HorizontalPodAutoscaler"].values():
        t = o["spec"]["scaleTargetRef"]
        target = by_kind[t["kind"]].get((ns(o), t["name"]))
        if target is None or t["kind"] not in WORKLOADS:
            errs.append(f"{ref(o)}: scaleTargetRef {t['kind']}/{t['name']} is not a workload of the render")
        elif target["apiVersion"] != t.get("apiVersion"):
            errs.append(f"{ref(o)}: scaleTargetRef apiVersion {t.get('apiVersion')} != {target['apiVersion']} of {ref(target)}")
        elif "replicas" in target["spec"]:
            errs.append(f"{ref(o)}: its target {ref(target)} sets spec.replicas, which every apply "
                        "would reset the HPA's count to; leave it out")

    for o in by_kind["Service"].values():
        selector = o["spec"].get("selector")
        if not selector:
            continue  # endpoints managed by hand
        matched = pods_selected(o, selector)
        if not matched:
            errs.append(f"{ref(o)}: selector {selector} matches no workload's pods")
            continue
        for p in o["spec"].get("ports", []):
            tp = p.get("targetPort", p["port"])
            ports = [cp for w in matched for c in w["spec"]["template"]["spec"]["containers"]
                     for cp in c.get("ports", [])]
            if not any(cp.get("name") == tp if isinstance(tp, str) else cp["containerPort"] == tp
                       for cp in ports):
                errs.append(f"{ref(o)}: port {p.get('name', p['port'])} targets {tp!r}, "
                            "which no selected container declares")

    for o in by_kind["PodDisruptionBudget"].values():
        selector = o["spec"].get("selector", {}).get("matchLabels")
        if not pods_selected(o, selector):
            errs.append(f"{ref(o)}: selector {selector} matches no workload's pods")

    for w in workloads:
        spec = w["spec"]["template"]["spec"]
        if w["kind"] == "StatefulSet" and spec is not None:
            svc = by_kind["Service"].get((ns(w), w["spec"].get("serviceName", "")))
            if svc is None or svc["spec"].get("clusterIP") != "None":
                errs.append(f"{ref(w)}: serviceName {w['spec'].get('serviceName')!r} is not a headless Service of the render")
        for vol in spec.get("volumes", []):
            cm = vol.get("configMap")
            if cm and not cm.get("optional") and (ns(w), cm["name"]) not in by_kind["ConfigMap"]:
                errs.append(f"{ref(w)}: volume {vol['name']} names ConfigMap {cm['name']}, not in the render")
        for c in containers(spec):
            names = {p["name"] for p in c.get("ports", []) if "name" in p}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                for action in ("httpGet", "tcpSocket", "grpc"):
                    port = c.get(probe, {}).get(action, {}).get("port")
                    if isinstance(port, str) and port not in names:
                        errs.append(f"{ref(w)}: container {c['name']} {probe} uses port {port!r}, not declared")
            env = {e["name"] for e in c.get("env", [])}
            for arg in c.get("command", []) + c.get("args", []):
                for var in re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(arg)):
                    if var not in env:
                        errs.append(f"{ref(w)}: container {c['name']} refers to $({var}), not in its env")
    return errs


def all_errors(objs):
    return schema_errors(objs) + reference_errors(objs)


errors = all_errors(docs)

# Self-check: broken copies of the render must fail, or the checks above check nothing.
self_errors = []
pod_owner = next((o for o in docs if o["kind"] in WORKLOADS), None)
if pod_owner is not None:
    broken = copy.deepcopy(docs)
    w = next(o for o in broken if o["kind"] in WORKLOADS)
    w["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    if not schema_errors(broken):
        self_errors.append("self-check: an unknown container field (imagePullPolcy) passed the schema check")
hpa = next((o for o in docs if o["kind"] == "HorizontalPodAutoscaler"), None)
if hpa is not None:
    broken = copy.deepcopy(docs)
    h = next(o for o in broken if o["kind"] == "HorizontalPodAutoscaler")
    h["spec"]["scaleTargetRef"]["name"] += "-missing"
    if not reference_errors(broken):
        self_errors.append("self-check: an HPA aimed at a missing Deployment passed the reference check")

kinds = collections.defaultdict(list)
for o in docs:
    kinds[o["kind"]].append(o["metadata"]["name"])
print(f"{src}: {len(docs)} objects rendered")
for kind, names in kinds.items():
    print(f"  {kind:<24} {', '.join(names)}")
for e in errors + self_errors:
    print(f"ERROR {e}")
if errors or self_errors:
    sys.exit(f"{src}: {len(errors) + len(self_errors)} problem(s)")
print(f"{src}: valid against Kubernetes {', '.join(versions)} (kubernetes-validate "
      f"{kv.version.__version__}, strict); references OK; self-check OK "
      f"({elapsed_before + time.monotonic() - T0:.1f} s)")
PY
