"""A real JupyterLab and headless Chromium for front-end tests (the widget, `%%chat`, ...).

`running_jupyterlab(root)` starts `python -m jupyterlab` on 127.0.0.1, a free port and a
random token, with throwaway config/data/runtime/settings directories (the venv's own
`share/jupyter` still provides the kernel spec and the widget manager extension) and with
`OPENAI_*` unset, so kernels use the embedded tutor. It stops the server and its kernels
when the block ends. `Notebook.open(page, lab, name)` writes a notebook, opens it in Lab and
waits for its kernel; `notebook.run(code)` types code into the last cell and runs it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import Browser, Dialog, Locator, Page, expect

CHROMIUM = os.environ.get("NBSTREAM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Lab plugins that reach the internet or pop up toasts over what a screenshot should show.
DISABLED_PLUGINS = (
    "@jupyterlab/apputils-extension:announcements",
    "@jupyterlab/extensionmanager-extension:plugin",
)
ERROR_OUTPUT = '[data-mime-type="application/vnd.jupyter.error"]'


@dataclass(frozen=True)
class JupyterLab:
    """A running JupyterLab: `url` ends with `/`; notebooks live under `root`."""

    url: str
    token: str
    root: Path
    log: Path

    def lab_url(self, path: str = "") -> str:
        return f"{self.url}lab/tree/{path}?token={self.token}"

    def notebook7_url(self, path: str) -> str:
        """The same notebook in Notebook 7's UI (served by the same server if installed)."""
        return f"{self.url}notebooks/{path}?token={self.token}"

    def api(self, path: str, body: Any = None) -> Any:
        """GET (or, with a body, POST) a JSON endpoint of the REST API, e.g. `api/kernels`."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def wait_connected(self, kernel_id: str, timeout: float = 60.0) -> None:
        """Wait until a page holds a websocket to the kernel and the kernel is idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api(f"api/kernels/{kernel_id}")
            if model.get("connections", 0) >= 1 and model.get("execution_state") == "idle":
                return
            time.sleep(0.1)
        raise TimeoutError(f"no page connected to kernel {kernel_id} in {timeout} s")

    def start_session(self, path: str, kernel: str = "python3") -> str:
        """Start the notebook's kernel before Lab opens it (no start-up race); its kernel id."""
        body = {"path": path, "name": path, "type": "notebook", "kernel": {"name": kernel}}
        return str(self.api("api/sessions", body)["kernel"]["id"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lab_environment(home: Path) -> dict[str, str]:
    """The server's environment: no API keys, throwaway Jupyter directories."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "workspaces",
        "IPYTHONDIR": home / "ipython",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
    labconfig.mkdir(exist_ok=True)
    page_config = {"disabledExtensions": dict.fromkeys(DISABLED_PLUGINS, True)}
    (labconfig / "page_config.json").write_text(json.dumps(page_config))
    notification = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    settings = {"fetchNews": "false", "checkForUpdates": False}
    (notification / "notification.jupyterlab-settings").write_text(json.dumps(settings))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def running_jupyterlab(root: Path, *, timeout: float = 60.0) -> Iterator[JupyterLab]:
    """Start JupyterLab serving `root`; always stop it (and its kernels) afterwards."""
    root.mkdir(parents=True, exist_ok=True)
    home = root.parent / f"{root.name}-jupyter"
    port, token = free_port(), secrets.token_hex(16)
    log = home / "jupyterlab.log"
    env = lab_environment(home)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=", "--LabApp.extension_manager=readonly", "--allow-root",
        "--ServerApp.terminals_enabled=False",
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    lab = JupyterLab(f"http://127.0.0.1:{port}/", token, root, log)
    try:
        _wait_until_up(lab, process, timeout)
        yield lab
    finally:
        _stop(process)


def _wait_until_up(lab: JupyterLab, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early:\n{lab.log.read_text()[-3000:]}")
        try:
            lab.api("api/status")
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"JupyterLab did not answer in {timeout} s:\n{lab.log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (server and kernels), then SIGKILL what is left."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()
            try:
                os.killpg(process.pid, 0)  # kernels may outlive the server briefly
            except ProcessLookupError:
                return
            time.sleep(0.1)
    process.wait(5)


def notebook_json(cells: Sequence[str] = ()) -> dict[str, Any]:
    """A minimal nbformat-4 notebook for the venv's python3 kernel, plus one empty cell."""
    sources = [*cells, ""]
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": s,
            }
            for s in sources
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


class Notebook:
    """One notebook open in JupyterLab, driven the way a person would: type, Shift+Enter."""

    def __init__(self, page: Page, lab: JupyterLab, path: str) -> None:
        self.page = page
        self.lab = lab
        self.path = path

    @classmethod
    def open(
        cls,
        page: Page,
        lab: JupyterLab,
        name: str,
        cells: Sequence[str] = (),
        *,
        ui: Literal["lab", "notebook7"] = "lab",
    ) -> Notebook:
        """Write `name` with `cells` (not run), open it in JupyterLab or Notebook 7, and wait
        until its kernel is idle."""
        (lab.root / name).write_text(json.dumps(notebook_json(cells)))
        kernel = lab.start_session(name)
        page.goto(lab.lab_url(name) if ui == "lab" else lab.notebook7_url(name))
        notebook = cls(page, lab, name)
        expect(notebook.cells.first).to_be_visible(timeout=60_000)
        lab.wait_connected(kernel)
        if ui == "lab":
            status = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle"))
            expect(status.first).to_be_visible(timeout=60_000)
        notebook.wait_idle()
        return notebook

    @property
    def panel(self) -> Locator:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    @property
    def cells(self) -> Locator:
        return self.panel.locator(".jp-Notebook .jp-Cell")

    def wait_idle(self, timeout: float = 60_000) -> None:
        indicator = self.panel.locator(".jp-Notebook-ExecutionIndicator")
        expect(indicator).to_have_attribute("data-status", "idle", timeout=timeout)

    def run(self, code: str, *, wait: bool = True, timeout: float = 60_000) -> Locator:
        """Put `code` in a fresh cell at the end and run it; returns the cell.

        With `wait`, waits for the execution count and fails on an error output.
        """
        count = self.cells.count()
        cell = self.cells.nth(count - 1)
        if cell.locator(".cm-content").inner_text().strip():
            cell.locator(".jp-InputPrompt").click()
            self.page.keyboard.press("b")  # command mode: insert a cell below
            expect(self.cells).to_have_count(count + 1)
            cell = self.cells.nth(count)
        editor = cell.locator(".cm-content")
        editor.click()
        self.page.keyboard.insert_text(code)  # no key events, so no auto-closed brackets
        expect(editor).to_contain_text(code.splitlines()[0] if code.strip() else "")
        self.page.keyboard.press("Shift+Enter")
        if wait:
            self.wait_cell(cell, timeout=timeout)
        return cell

    def wait_cell(self, cell: Locator, *, timeout: float = 60_000) -> None:
        """Wait until `cell` has run, and fail with the traceback if it raised.

        A run request sent while the page was still attaching to its kernel can be lost
        (the prompt stays `[ ]`); then the cell is run once more.
        """
        prompt = cell.locator(".jp-InputPrompt")
        try:
            expect(prompt).to_have_text(re.compile(r"\[(\d+|\*)\]"), timeout=5_000)
        except AssertionError:
            prompt.click()
            self.page.keyboard.press("Shift+Enter")
        expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout)
        errors = cell.locator(ERROR_OUTPUT)
        if errors.count():
            raise AssertionError(f"cell raised:\n{errors.first.inner_text()}")

    def output_text(self, cell: Locator) -> str:
        return cell.locator(".jp-OutputArea").inner_text()


@contextmanager
def recording_page(
    browser: Browser, dialogs: list[str], *, width: int = 1280, height: int = 900
) -> Iterator[Page]:
    """A fresh page in its own context that records every dialog's message and dismisses it.

    A script injected through model output would show up here as an alert: tests assert the
    list stays empty.
    """
    context = browser.new_context(viewport={"width": width, "height": height})

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page = context.new_page()
    page.on("dialog", on_dialog)
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()
