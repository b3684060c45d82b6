"""Fixtures for real-browser tests: one JupyterLab per session, a fresh Chromium page per test.

Skipped (with the reason) when Chromium is not installed, except in CI, where a missing
browser is a failure: CI must run these (`apt-get install -y chromium`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    JupyterLab,
    recording_page,
    running_jupyterlab,
)
from playwright.sync_api import Browser, Page, sync_playwright

DOCS = Path(__file__).resolve().parents[2] / "docs"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"browser tests need Chromium at {CHROMIUM} in CI")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """A JupyterLab server (url, token, root) for the whole session, stopped at the end."""
    with running_jupyterlab(tmp_path_factory.mktemp("lab") / "notebooks") as lab:
        yield lab


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Playwright's sync API runs an asyncio loop in this
    thread while it is open, so it must be closed before other modules' tests run."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def dialogs() -> list[str]:
    """Messages of every alert/confirm/prompt the page opened (each is dismissed)."""
    return []


@pytest.fixture
def page(browser: Browser, dialogs: list[str]) -> Iterator[Page]:
    """A fresh page (own context) that records dialogs and dismisses them."""
    with recording_page(browser, dialogs) as page:
        yield page


@pytest.fixture(scope="session")
def docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: `docs/` with NBSTREAM_UPDATE_SCREENSHOTS=1, else a temp dir
    (so a test run never changes tracked files)."""
    if os.environ.get("NBSTREAM_UPDATE_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        return DOCS
    return tmp_path_factory.mktemp("screenshots")
