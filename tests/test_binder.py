"""The Binder configuration: pinned requirements, postBuild, and a start script that really
brings the tutor server up, points the OpenAI variables at it, and stops it afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
ASK = (
    "import os, openai\n"
    "print(os.environ['OPENAI_BASE_URL'], os.environ['OPENAI_API_KEY'])\n"
    "reply = openai.OpenAI().chat.completions.create(\n"
    "    model='tutor', messages=[{'role': 'user', 'content': 'What is the capital of France?'}])\n"
    "print(reply.choices[0].message.content)\n"
)


def _pins() -> dict[str, str]:
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"not pinned: {line}"
            pins[canonicalize_name(name)] = version
    return pins


def test_requirements_pin_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is a dependency of nbstream but not pinned for Binder"
        assert requirement.specifier.contains(pins[name]), (name, pins[name], spec)
    assert "httpx" in pins  # notebook 01 reads raw bytes with httpx
    assert "ipykernel" in pins


def test_runtime_and_scripts() -> None:
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    for script in ("postBuild", "start"):
        path = BINDER / script
        assert path.stat().st_mode & stat.S_IXUSR, f"binder/{script} must be executable"
        subprocess.run(["bash", "-n", str(path)], check=True)
    assert "pip install --no-cache-dir --no-deps ." in (BINDER / "postBuild").read_text()
    start = (BINDER / "start").read_text()
    assert 'exec "$@"' in start and "python -m nbstream serve" in start


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _start(port: int, tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NBSTREAM_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["NBSTREAM_TUTOR_PORT"] = str(port)
    env["NBSTREAM_TUTOR_LOG"] = str(tmp_path / "tutor.log")
    return subprocess.run(
        [str(BINDER / "start"), *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_brings_the_tutor_up_and_stops_it_afterwards(tmp_path: Path) -> None:
    port = _free_port()
    run = _start(port, tmp_path, "python", "-c", ASK)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"http://127.0.0.1:{port}/v1 tutor"
    assert lines[1] == "The capital of France is **Paris**."
    assert "nbstream tutor server on" in (tmp_path / "tutor.log").read_text()
    deadline = time.monotonic() + 10
    while _answers(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _answers(port), "the tutor server outlived the command"


def test_start_still_runs_the_command_when_the_server_cannot_start(tmp_path: Path) -> None:
    with socket.socket() as taken:  # something else holds the port and never answers HTTP
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        code = "import os; print(os.environ.get('OPENAI_BASE_URL', 'unset'))"
        run = _start(port, tmp_path, "python", "-c", code)
    assert run.returncode == 0
    assert run.stdout.strip() == "unset"
    assert "did not start" in run.stderr


# Installed with the test extra, next to this Python (the venv's bin/ need not be on PATH).
_BESIDE = Path(sys.executable).parent / "jupyter-repo2docker"
REPO2DOCKER = str(_BESIDE) if _BESIDE.exists() else shutil.which("jupyter-repo2docker")


def test_repo2docker_dockerfile_installs_nbstream_and_sets_the_start_script() -> None:
    """`--no-build --debug` prints the Dockerfile repo2docker would build; no docker needed."""
    assert REPO2DOCKER is not None, "install the test extra: pip install -e '.[test]'"
    run = subprocess.run(
        [REPO2DOCKER, "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    dockerfile = run.stdout + run.stderr
    assert "python=3.11" in dockerfile  # binder/runtime.txt chose the Python
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
