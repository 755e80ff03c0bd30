"""deploy/: the image installs and runs as the Dockerfile says; the manifests hold what matters.

No Docker engine or kubectl here: the Dockerfile's own commands are replayed (copy the
build context minus its .dockerignore, build the wheel, install it with the extras into a
fresh virtual environment) and the YAML is parsed and checked field by field.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

from sync.config import parse_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def run_commands(keyword: str) -> list[str]:
    """The shell commands joined by && in RUN lines, those containing ``keyword``."""
    commands = []
    for instruction, args in dockerfile_instructions():
        if instruction == "RUN":
            commands += [c.strip() for c in args.split("&&") if keyword in c]
    return commands


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatch(prefix.rsplit("/", 1)[-1], bare):
                return True
    return False


def copy_build_context(target: Path) -> None:
    """`COPY . .` with deploy/Dockerfile.dockerignore applied, as BuildKit does."""
    patterns = [line.strip() for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for folder, dirs, files in os.walk(ROOT):
        rel_folder = Path(folder).relative_to(ROOT).as_posix()
        rel = "" if rel_folder == "." else rel_folder + "/"
        dirs[:] = [d for d in dirs if not _ignored(rel + d, patterns)]
        for name in files:
            if not _ignored(rel + name, patterns):
                (target / rel).mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(folder) / name, target / rel / name)


def test_dockerfile_shape():
    """Slim base, numeric non-root user, ENTRYPOINT sync, config and state volumes, no secrets baked in."""
    instructions = dockerfile_instructions()
    bases = [args for name, args in instructions if name == "FROM"]
    assert bases and all(re.match(r"python:\$\{PYTHON_VERSION\}-slim", b) for b in bases)
    user = [args for name, args in instructions if name == "USER"]
    assert user and user[-1].split(":")[0].isdigit() and user[-1].split(":")[0] != "0"
    assert ("ENTRYPOINT", '["sync"]') in instructions
    volumes = json.loads(next(args for name, args in instructions if name == "VOLUME"))
    assert {"/config", "/state"} <= set(volumes)
    env_text = " ".join(args for name, args in instructions if name == "ENV")
    assert "OPENPHONE_API_KEY" not in env_text and "PASSWORD" not in env_text.upper()
    (install,) = run_commands("pip install")
    assert '[postgres,mysql]"' in install


@pytest.mark.slow
def test_image_install_runs_sync_help_demo_and_a_report(tmp_path: Path):
    """Replaying the Dockerfile into a fresh venv gives a working `sync --help`, `sync demo` and --report."""
    context, wheels = tmp_path / "src", tmp_path / "wheels"
    context.mkdir()
    copy_build_context(context)
    assert (context / "pyproject.toml").exists() and not (context / ".venv").exists()
    assert not (context / "tests").exists()

    (build,) = run_commands("pip wheel")
    build_args = [wheels.as_posix() if a == "/wheels" else a for a in shlex.split(build)[2:]]
    subprocess.run([sys.executable, "-m", "pip", "wheel", *build_args], cwd=context, check=True,
                   capture_output=True, timeout=300)
    (wheel,) = wheels.glob("openphone_sync-*.whl")

    env_dir = tmp_path / "image-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    (install,) = run_commands("pip install")
    install_args = [a.replace("${WHEEL}", str(wheel)) for a in shlex.split(install)[2:]]
    subprocess.run([python, "-m", "pip", "install", *install_args], check=True, capture_output=True,
                   timeout=600)

    sync = env_dir / "bin" / "sync"
    clean_env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    helped = subprocess.run([sync, "--help"], env=clean_env, capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "schedule" in helped.stdout and "doctor" in helped.stdout
    demo = subprocess.run([sync, "demo", "--output", "json"], env=clean_env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-2000:]
    steps = json.loads(demo.stdout)["steps"]
    assert steps[1]["summary"]["create"] > 0 and steps[2]["summary"]["create"] == 0
    drivers = subprocess.run([python, "-c", "import psycopg, pymysql"], capture_output=True, timeout=60)
    assert drivers.returncode == 0, "the [postgres,mysql] extras are installed"
    _dry_run_report(sync, clean_env, tmp_path)


def _dry_run_report(sync: Path, env: dict[str, str], tmp_path: Path) -> None:
    """The installed package renders the HTML report (its templates ship in the wheel)."""
    (tmp_path / "c.csv").write_text("id,First Name\n1,Ada\n", encoding="utf-8")
    (tmp_path / "sync.toml").write_text(
        '[state]\nurl = "sqlite:///state.db"\n\n[[sources]]\nname = "crm"\ntype = "csv"\n'
        'path = "c.csv"\nkey = "id"\n\n[sources.fields]\nfirstName = "First Name"\n'
    )
    report = tmp_path / "plan.html"
    done = subprocess.run([sync, "--config", str(tmp_path / "sync.toml"), "--dry-run", "--report", str(report)],
                          env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'data-count="create"><span class="n">1</span>' in report.read_text()


def _load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / "kubernetes" / name).read_text())


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in container["env"]}


def _check_pod(pod: dict[str, Any]) -> dict[str, Any]:
    """Non-root, no privilege escalation, key and state URL from the Secret; returns the container."""
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    (container,) = pod["containers"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    env = _env(container)
    key = env["OPENPHONE_API_KEY"]["valueFrom"]["secretKeyRef"]
    state = env["OPENPHONE_SYNC__STATE__URL"]["valueFrom"]["secretKeyRef"]
    secret = _load("secret.example.yaml")
    assert key["name"] == state["name"] == secret["metadata"]["name"]
    assert {key["key"], state["key"]} <= set(secret["stringData"])
    assert secret["stringData"][state["key"]].startswith("postgresql+psycopg://")
    assert env["OPENPHONE_SYNC_CONFIG"]["value"] == "/config/sync.toml"
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["config"]["mountPath"] == "/config" and mounts["config"]["readOnly"] is True
    assert volumes["config"]["configMap"]["name"] == _load("configmap.yaml")["metadata"]["name"]
    return container


def test_cronjob_runs_hourly_never_concurrently_with_secrets_from_a_secret():
    """CronJob: hourly schedule, concurrencyPolicy Forbid, key and PostgreSQL URL from the Secret."""
    cronjob = _load("cronjob.yaml")
    assert cronjob["apiVersion"] == "batch/v1" and cronjob["kind"] == "CronJob"
    spec = cronjob["spec"]
    minute, hour, *rest = spec["schedule"].split()
    assert minute.isdigit() and hour == "*" and rest == ["*", "*", "*"]
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    container = _check_pod(pod)
    assert "schedule" not in container.get("args", [])


def test_deployment_runs_sync_schedule_as_a_single_replica():
    """Deployment: one replica, Recreate, `sync schedule` hourly, a grace period for SIGTERM."""
    deployment = _load("deployment.yaml")
    assert deployment["apiVersion"] == "apps/v1" and deployment["kind"] == "Deployment"
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    assert pod["terminationGracePeriodSeconds"] >= 60
    args = _check_pod(pod)["args"]
    assert args[0] == "schedule" and args[args.index("--every") + 1] == "1h"
    from sync.scheduler import ScheduleSpec

    assert ScheduleSpec.from_flags("1h", None, jitter=float(args[args.index("--jitter") + 1])).every


def test_configmap_holds_a_valid_config_without_secrets():
    """The ConfigMap's sync.toml passes the config validation and names secrets only as variables."""
    text = _load("configmap.yaml")["data"]["sync.toml"]
    config = parse_config(text, Path("/config/sync.toml"), env={})
    assert config.openphone.api_key_env == "OPENPHONE_API_KEY"
    assert config.sources[0].options["credentials_json_env"] == "GOOGLE_SERVICE_ACCOUNT_JSON"
    assert "password" not in text.lower()


def test_lambda_template_runs_the_handler_hourly_one_at_a_time():
    """SAM template: the serverless handler, an hourly EventBridge schedule, concurrency 1, state on PostgreSQL."""
    template = yaml.safe_load((DEPLOY / "aws-lambda" / "template.yaml").read_text())
    function = template["Resources"]["SyncFunction"]
    assert function["Type"] == "AWS::Serverless::Function"
    props = function["Properties"]
    module, _, name = props["Handler"].rpartition(".")
    import importlib

    assert callable(getattr(importlib.import_module(module), name))
    assert props["ReservedConcurrentExecutions"] == 1
    (event,) = props["Events"].values()
    assert event["Type"] in ("Schedule", "ScheduleV2")
    assert event["Properties"]["Schedule"] in ("rate(1 hour)", "cron(0 * * * ? *)")
    variables = props["Environment"]["Variables"]
    assert "OPENPHONE_SYNC_CONFIG" in variables or "OPENPHONE_SYNC_CONFIG_TOML" in variables
    assert "state_url" in variables["OPENPHONE_SYNC__STATE__URL"]["Fn::Sub"]
    assert "{{resolve:secretsmanager:" in variables["OPENPHONE_API_KEY"]["Fn::Sub"]
    assert props["Runtime"] == "python3.11"
