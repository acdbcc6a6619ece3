"""Reading docker-compose.yml the way ``docker compose`` would, for the tests (Docker does not run here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SECRETS_MOUNT = "/run/secrets/"

# The services that run Argus code from platform/Dockerfile, and the infrastructure around them.
APP_SERVICES = ("migrate", "web", "worker", "model-worker", "interactive-worker", "beat")
INFRA_SERVICES = ("postgres", "redis", "qdrant", "prometheus", "grafana")

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = variables.get(name)
        missing = value is None or (value == "" and op is not None and op.startswith(":"))
        if not missing:
            return value
        if op in {":-", "-"}:
            return arg
        if op in {":?", "?"}:
            raise KeyError(f"required variable {name} is not set: {arg}")
        return ""

    return _VARIABLE.sub(replace, value)


def _interpolate_tree(node: Any, variables: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_interpolate_tree(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, variables) for key, value in node.items()}
    return node


def load_compose(variables: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file with YAML anchors merged and variables replaced (defaults when unset)."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    return _interpolate_tree(raw, variables or {})


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def command_args(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(arg) for arg in command]


def option_values(args: list[str], *names: str) -> list[str]:
    """Values of a command-line option given as ``-Q x`` or ``-Q=x`` (or a long name)."""
    values = []
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                values.append(args[i + 1])
            elif arg.startswith(f"{name}="):
                values.append(arg.split("=", 1)[1])
    return values


def container_environment(service: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """A service's environment for a local subprocess: each secret file replaced by a stand-in.

    Stand-in secrets are random, so settings see values shaped like the real ones.
    """
    import secrets as secrets_module

    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        # Set by platform/Dockerfile (ENV), where the image keeps its var/ folder.
        "ARGUS_VAR_DIR": str(tmp_path / "var"),
    }
    for name, value in service_environment(service).items():
        if value.startswith(SECRETS_MOUNT):
            stand_in = tmp_path / "secrets" / value.removeprefix(SECRETS_MOUNT)
            stand_in.parent.mkdir(parents=True, exist_ok=True)
            if not stand_in.exists():
                stand_in.write_text(secrets_module.token_urlsafe(64) + "\n")
            value = str(stand_in)
        env[name] = value
    return env


_ENV_RECORDER = r"""
import json, os, sys
settings_file = os.path.realpath(sys.argv[1])
names = set()
original = os._Environ.__getitem__

def recording_getitem(self, key):
    frame = sys._getframe(1)
    while frame is not None:
        if os.path.realpath(frame.f_code.co_filename) == settings_file:
            names.add(key)
            break
        frame = frame.f_back
    return original(self, key)

os._Environ.__getitem__ = recording_getitem
import config.settings  # noqa: E402
print(json.dumps(sorted(names)))
"""


def environment_names_read_by_settings(env: dict[str, str]) -> tuple[set[str], subprocess.CompletedProcess]:
    """Load config/settings.py in a fresh interpreter with ``env``; the variable names it looked up.

    Recorded at the lookup itself (os.environ access from a frame of settings.py), so
    it covers every helper settings uses (env.str, env_secret, env.db_url, ...).
    """
    settings_file = REPO_ROOT / "config" / "settings.py"
    result = subprocess.run(
        [sys.executable, "-c", _ENV_RECORDER, str(settings_file)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        return set(), result
    import json

    return set(json.loads(result.stdout.strip().splitlines()[-1])), result
