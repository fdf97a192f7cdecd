"""Tests for deploy/: the Prometheus rules and alerts (promtool), the Grafana
dashboard, the systemd unit and the Kubernetes manifests.

Run from the repository root: python -m pytest deploy/tests
Needs promtool (Debian's prometheus package) and deploy/tests/requirements.txt.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent
PROMETHEUS = DEPLOY / "prometheus"
CONFIG = PROMETHEUS / "prometheus.yml"
RULES = PROMETHEUS / "hoeveel.rules.yml"
ALERTS = PROMETHEUS / "hoeveel.alerts.yml"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
DASHBOARD = DEPLOY / "grafana" / "hoeveel.json"
UNIT = DEPLOY / "systemd" / "hoeveel-exporter.service"
DAEMONSET = DEPLOY / "kubernetes" / "daemonset.yaml"
EXPORTER_METRICS = DEPLOY / "exporter-metrics.txt"

PROMTOOL_MISSING = (
    "promtool is not installed: install Debian's prometheus package "
    "(scripts/test does)"
)

# The serving engines' own metrics that the rules may use, as their sources
# define them:
# - llama.cpp, tools/server (server-context.cpp, the /metrics handler, and
#   tools/server/README.md "GET /metrics"): counters
#   llamacpp:prompt_tokens_total and llamacpp:tokens_predicted_total; it
#   has no counter of requests.
# - vLLM, vllm/v1/metrics/loggers.py (PrometheusStatLogger):
#   vllm:request_success_total (label finished_reason),
#   vllm:generation_tokens_total, vllm:prompt_tokens_total.
VERIFIED_ENGINE_METRICS = {
    "llamacpp:prompt_tokens_total",
    "llamacpp:tokens_predicted_total",
    "vllm:request_success_total",
    "vllm:generation_tokens_total",
    "vllm:prompt_tokens_total",
}
ENGINE_PREFIXES = ("llamacpp:", "vllm:")


# --- helpers -----------------------------------------------------------------


@pytest.fixture(scope="session")
def promtool():
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(PROMTOOL_MISSING)
    return path


def run(cmd, **kwargs):
    """Runs cmd; asserts it exits 0, showing all it printed otherwise."""
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=120, **kwargs
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n"
        f"{proc.stdout}{proc.stderr}"
    )
    return proc


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def rules_of(path):
    return [rule for group in load_yaml(path)["groups"] for rule in group["rules"]]


def recording_rules():
    return [r for r in rules_of(RULES) if "record" in r]


def alerting_rules():
    return [r for r in rules_of(ALERTS) if "alert" in r]


def exporter_metrics():
    """{name: type} from exporter-metrics.txt."""
    metrics = {}
    for line in EXPORTER_METRICS.read_text(encoding="utf-8").splitlines():
        name, kind = line.split()
        metrics[name] = kind
    return metrics


def dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def all_panels(panels):
    """The panels, those inside collapsed rows included."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def dashboard_exprs():
    """(panel title, expr) for every query of every panel."""
    return [
        (panel.get("title", ""), target["expr"])
        for panel in all_panels(dashboard()["panels"])
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def variable_query_exprs():
    """The PromQL inside the dashboard's label_values() variables."""
    exprs = []
    for var in dashboard()["templating"]["list"]:
        if var.get("type") != "query":
            continue
        query = var["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_]\w*\s*\)\s*", text)
        assert match, f"variable {var['name']}: expected label_values(expr, label), got {text!r}"
        exprs.append(match.group(1))
    return exprs


def substitute_grafana_variables(expr):
    """Replaces Grafana's variables with values PromQL accepts."""
    expr = re.sub(r"\$__(rate_)?interval\b|\$\{__(rate_)?interval\}", "1m", expr)
    expr = re.sub(r"\$__range\b|\$\{__range\}", "1h", expr)
    expr = re.sub(r"\$\{(\w+)(:\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", "x", expr)
    return expr


PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
    "group_right", "bool", "offset", "inf", "nan",
}


def metric_names(expr):
    """The metric names an expression selects. A small scanner, enough for
    the expressions in deploy/: strings, label matchers, ranges and the
    label lists of by/on/... are removed; an identifier left that is not
    followed by '(' (a function or an aggregation) nor a keyword is a metric."""
    names = set(re.findall(r'__name__\s*=\s*"([^"]*)"', expr))
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"'(?:[^'\\]|\\.)*'", "''", s)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    for match in re.finditer(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)", s):
        ident = match.group(1)
        if s[match.end():].lstrip().startswith("("):
            continue
        if ident.lower() in PROMQL_KEYWORDS:
            continue
        names.add(ident)
    return names


def engine_metrics_in_rules():
    return {
        name
        for rule in recording_rules()
        for name in metric_names(rule["expr"])
        if name.startswith(ENGINE_PREFIXES)
    }


def allowed_metric_names():
    return (
        set(exporter_metrics())
        | {r["record"] for r in recording_rules()}
        | {"up"}
        | engine_metrics_in_rules()
    )


# --- promtool ----------------------------------------------------------------


def test_promtool_is_installed():
    if shutil.which("promtool") is None:
        pytest.fail(PROMTOOL_MISSING)


def test_rules_and_alerts_pass_promtool_check_rules(promtool):
    run([promtool, "check", "rules", RULES, ALERTS])


def test_prometheus_config_passes_promtool_check_config(promtool):
    run([promtool, "check", "config", CONFIG], cwd=PROMETHEUS)


def test_there_are_rule_unit_tests():
    names = [p.name for p in RULE_TESTS]
    assert len(RULE_TESTS) >= 2, f"expected rule and alert tests in prometheus/tests, found {names}"


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_rule_unit_tests_pass(promtool, test_file):
    run([promtool, "test", "rules", test_file.name], cwd=test_file.parent)


def test_every_recording_rule_and_alert_has_a_unit_test():
    """Every recording rule is evaluated in some promql_expr_test; every alert
    has a case where it fires and one where it does not."""
    tested_exprs, firing, quiet = [], set(), set()
    for test_file in RULE_TESTS:
        for case in load_yaml(test_file)["tests"]:
            tested_exprs += [t["expr"] for t in case.get("promql_expr_test", [])]
            for t in case.get("alert_rule_test", []):
                (firing if t.get("exp_alerts") else quiet).add(t["alertname"])
    tested_names = set().union(*(metric_names(e) for e in tested_exprs))
    untested = {r["record"] for r in recording_rules()} - tested_names
    assert not untested, f"recording rules without a promql_expr_test: {sorted(untested)}"
    alerts = {r["alert"] for r in alerting_rules()}
    assert alerts <= firing, f"alerts never tested firing: {sorted(alerts - firing)}"
    assert alerts <= quiet, f"alerts never tested not firing: {sorted(alerts - quiet)}"


def test_recording_rule_names_follow_level_metric_operations():
    for rule in recording_rules():
        assert re.fullmatch(r"[a-z_]+:[a-z][a-z0-9_]*:[a-z0-9_]+", rule["record"]), rule["record"]


def test_ratios_are_guarded_against_idle_engines():
    """A ratio divides only by a rate filtered with > 0, so an idle server
    gives no series rather than +Inf or NaN."""
    for rule in recording_rules():
        if "/" not in rule["expr"]:
            continue
        for divisor in re.findall(r"/\s*(?:on\s*\([^)]*\)\s*(?:group_left\s*\([^)]*\)\s*)?)?(\S[^\n]*)", rule["expr"]):
            if divisor.strip().startswith(("3.6e6", "3600")):
                continue
            assert re.search(r">\s*0\s*\)", divisor), f"{rule['record']}: unguarded division by {divisor!r}"


# --- metric names: exporter, rules, engines, dashboard ------------------------


def test_exporter_metrics_file_is_well_formed():
    lines = EXPORTER_METRICS.read_text(encoding="utf-8").splitlines()
    assert lines, "exporter-metrics.txt is empty"
    names = []
    for line in lines:
        parts = line.split(" ")
        assert len(parts) == 2, f"expected 'name type': {line!r}"
        name, kind = parts
        assert re.fullmatch(r"hoeveel_[a-z0-9_]+", name), name
        assert kind in ("counter", "gauge"), f"{name}: {kind} (the exporter has no histograms)"
        assert name.endswith("_total") == (kind == "counter"), f"{name} {kind}: counters and only counters end in _total"
        names.append(name)
    assert len(names) == len(set(names)), "a metric is listed twice"


def emitted_down_reasons():
    """The `reason` values of hoeveel_domain_up the exporter can emit: `ok`
    and the labels of the sampler's `Down` reasons, read from the source."""
    source = (DEPLOY.parent / "measure" / "src" / "sampler.rs").read_text(encoding="utf-8")
    block = source[source.index("impl Down {"):]
    block = block[: block.index("\n}\n")]
    reasons = set(re.findall(r'Down::\w+ => "([a-z_]+)"', block))
    assert reasons, "no Down reasons found in measure/src/sampler.rs"
    return reasons | {"ok"}


def test_every_domain_down_reason_in_deploy_is_one_the_exporter_emits():
    # An alert or a test on a reason the exporter never emits can never fire,
    # and its test proves nothing (`reason="lost"` did).
    emitted = emitted_down_reasons()
    for path in [ALERTS, DASHBOARD, *RULE_TESTS]:
        text = path.read_text(encoding="utf-8")
        used = set(re.findall(r'[{,]\s*reason=\\?"([a-z_]+)\\?"', text))
        used |= set(re.findall(r"^\s*reason: ([a-z_]+)\s*$", text, flags=re.M))
        assert used <= emitted, f"{path.name}: reasons {sorted(used - emitted)} are never emitted (only {sorted(emitted)})"


def test_engine_metrics_in_rules_are_the_verified_names():
    used = engine_metrics_in_rules()
    assert used, "the rules use no engine metric"
    assert used <= VERIFIED_ENGINE_METRICS, f"unverified engine metrics: {sorted(used - VERIFIED_ENGINE_METRICS)}"


def test_rules_and_alerts_use_only_known_metrics():
    allowed = allowed_metric_names()
    for rule in rules_of(RULES) + rules_of(ALERTS):
        unknown = metric_names(rule["expr"]) - allowed
        name = rule.get("record") or rule.get("alert")
        assert not unknown, f"{name} uses unknown metrics {sorted(unknown)}"


def test_dashboard_uses_only_known_metrics():
    allowed = allowed_metric_names()
    exprs = dashboard_exprs() + [("variable", e) for e in variable_query_exprs()]
    assert exprs
    for title, expr in exprs:
        unknown = metric_names(substitute_grafana_variables(expr)) - allowed
        assert not unknown, f"panel {title!r} uses unknown metrics {sorted(unknown)}: {expr}"


def test_dashboard_exprs_pass_promtool(promtool, tmp_path):
    exprs = dashboard_exprs() + [("variable", e) for e in variable_query_exprs()]
    rules = [
        {"record": f"dashboard:expr_{i}:check", "expr": substitute_grafana_variables(expr)}
        for i, (_, expr) in enumerate(exprs)
    ]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    run([promtool, "check", "rules", path])


def test_metric_scanner():
    assert metric_names(
        'sum by (host) (rate(a_total{in_total="true"}[1m])) / on (host) group_left () (b:c:d > 0) / 3.6e6'
    ) == {"a_total", "b:c:d"}
    assert metric_names('{__name__="x", job="y"} * 2 and up offset 5m') == {"x", "up"}
    assert metric_names("max without (a) (m1) or -Inf < bool m2") == {"m1", "m2"}


# --- prometheus.yml -----------------------------------------------------------


def test_scrape_config_labels_every_target_with_host():
    config = load_yaml(CONFIG)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"hoeveel", "llamacpp", "vllm"} <= set(jobs)
    assert jobs["hoeveel"]["scrape_interval"] == "1s"
    for name, job in jobs.items():
        for static in job.get("static_configs", []):
            assert static.get("labels", {}).get("host"), f"job {name}: a target without a host label"
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS / rule_file).is_file(), rule_file


def test_exporter_down_alert_names_a_scraped_job():
    jobs = {job["job_name"] for job in load_yaml(CONFIG)["scrape_configs"]}
    down = next(r for r in alerting_rules() if r["alert"] == "HoeveelExporterDown")
    job = re.search(r'up\{job="([^"]+)"\}', down["expr"]).group(1)
    assert job in jobs


# --- Grafana -----------------------------------------------------------------


def test_dashboard_structure():
    board = dashboard()
    assert board["schemaVersion"] >= 36
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    host = variables["host"]
    assert host["type"] == "query"
    assert "label_values(" in json.dumps(host["query"])
    panels = list(all_panels(board["panels"]))
    assert 6 <= len(panels) <= 8, f"{len(panels)} panels"
    assert len({p["id"] for p in panels}) == len(panels), "panel ids repeat"
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert "$host" in target["expr"], f"panel {panel['title']!r} ignores $host"


def test_dashboard_shows_what_it_must():
    exprs = " ".join(e for _, e in dashboard_exprs())
    legends = " ".join(
        t.get("legendFormat", "") for p in all_panels(dashboard()["panels"]) for t in p["targets"]
    )
    for needed in (
        "host:hoeveel_energy_joules:rate1m",
        "hoeveel_energy_joules_total",
        "host:hoeveel_energy_joules_per_request:ratio_rate1m",
        "host:hoeveel_energy_joules_per_output_token:ratio_rate1m",
        "host_site:hoeveel_co2e_grams:rate1m",
        "hoeveel_domain_up",
    ):
        assert needed in exprs, f"the dashboard does not show {needed}"
    assert "{{provenance}}" in legends


# --- systemd -----------------------------------------------------------------


def parse_unit(text):
    """{section: {key: [values]}}; comments and blank lines skipped."""
    sections, current = {}, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"not a unit line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_unit_is_hardened():
    text = UNIT.read_text(encoding="utf-8")
    service = parse_unit(text)["Service"]

    def one(key):
        values = service.get(key, [])
        assert len(values) == 1, f"{key}: {values}"
        return values[0]

    assert one("ExecStart").split()[:2] == ["/usr/local/bin/hoeveel-agent", "serve"]
    for key, value in {
        "DynamicUser": "yes",
        "AmbientCapabilities": "CAP_PERFMON",
        "CapabilityBoundingSet": "CAP_PERFMON",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadOnlyPaths": "/sys",
        "ProtectKernelTunables": "yes",
        "Restart": "on-failure",
        "KillSignal": "SIGTERM",
    }.items():
        assert one(key) == value, f"{key}={one(key)}, expected {value}"
    assert "User" not in service, "DynamicUser, not a fixed User"
    # What would break the sensors.
    assert service.get("PrivateUsers", ["no"]) == ["no"], "PrivateUsers breaks CAP_PERFMON"
    assert service.get("PrivateDevices", ["no"]) == ["no"], "PrivateDevices hides /dev/nvidia*"
    assert service.get("ProcSubset", ["all"]) == ["all"], "ProcSubset=pid hides /proc/stat"
    filters = " ".join(service.get("SystemCallFilter", [])).split()
    assert not filters or "perf_event_open" in filters, "the syscall filter must allow perf_event_open"
    # The comments say why.
    assert "CVE-2020-8694" in text and "perf_event_open" in text
    assert "#   DeviceAllow=char-nvidia-frontend rw" in text


def verify_unit(tmp_path, text, name="hoeveel-exporter.service"):
    """systemd-analyze verify on a copy whose ExecStart is an existing binary
    (/usr/local/bin/hoeveel-agent is not installed here, and verify refuses a
    missing one). Fails on any warning about the unit."""
    true = shutil.which("true")
    assert true
    copy = tmp_path / name
    copy.write_text(text.replace("/usr/local/bin/hoeveel-agent", true), encoding="utf-8")
    proc = run(["systemd-analyze", "verify", copy])
    noise = [line for line in (proc.stdout + proc.stderr).splitlines() if name in line]
    assert not noise, "\n".join(noise)


def test_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed; the unit is still parsed and checked above")
    verify_unit(tmp_path, UNIT.read_text(encoding="utf-8"))


def test_systemd_analyze_verify_gpu_variant(tmp_path):
    """The DeviceAllow lines the comments give for a GPU host are valid."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    text = UNIT.read_text(encoding="utf-8")
    gpu = re.sub(r"^#\s+(DeviceAllow=.*)$", r"\1", text, flags=re.M)
    assert gpu.count("\nDeviceAllow=") == 3
    verify_unit(tmp_path, gpu)


# --- Kubernetes --------------------------------------------------------------


def manifests():
    with open(DAEMONSET, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    return {d["kind"]: d for d in docs}


def test_kubernetes_manifests_match_the_schema():
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate is not installed; the fields are still checked below"
    )
    from kubernetes_validate.utils import all_versions

    versions = sorted(all_versions(), key=lambda v: tuple(int(x) for x in v.split(".")))
    # The oldest and newest Kubernetes the package has schemas for.
    for version in (versions[0], versions[-1]):
        for kind, doc in manifests().items():
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                pytest.fail(f"{kind} against Kubernetes {version}: {e}")


def test_daemonset_fields():
    docs = manifests()
    assert set(docs) == {"DaemonSet", "NetworkPolicy"}
    ds = docs["DaemonSet"]
    assert ds["apiVersion"] == "apps/v1"
    assert ds["metadata"]["namespace"] == "monitoring"
    pod = ds["spec"]["template"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "9465"
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"].get("runAsUser", 1) != 0
    [container] = spec["containers"]
    assert container["image"] == "hoeveel/hoeveel-agent:0.1.0"
    argv = container.get("command", []) + container["args"]
    assert "serve" in argv
    assert argv[argv.index("--listen") + 1] == "0.0.0.0:9465"
    assert argv[argv.index("--sysfs-root") + 1] == "/host/sys"
    security = container["securityContext"]
    assert security["capabilities"]["add"] == ["PERFMON"]
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["readOnlyRootFilesystem"] is True
    assert security.get("privileged", False) is False
    assert security.get("runAsUser", 1) != 0
    [port] = container["ports"]
    assert (port["containerPort"], port["name"]) == (9465, "metrics")
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/metrics", probe
        assert container[probe]["httpGet"]["port"] in ("metrics", 9465), probe
    resources = container["resources"]
    assert resources["requests"] and resources["limits"]
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == "/host/sys"]
    assert mount["readOnly"] is True
    [volume] = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert volume["hostPath"]["path"] == "/sys"


def test_network_policy_admits_only_prometheus():
    docs = manifests()
    policy, ds = docs["NetworkPolicy"], docs["DaemonSet"]
    assert policy["metadata"]["namespace"] == ds["metadata"]["namespace"]
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]
    assert [p["port"] for p in rule["ports"]] == [9465]
