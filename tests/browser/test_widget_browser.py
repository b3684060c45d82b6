"""ChatWidget in a real JupyterLab and headless Chromium: streaming, Stop, tools, safety.

One notebook (one kernel) serves the whole module; each test makes its own widget in a new
cell. Replies come from the embedded tutor, paced with the `x-nbstream-pace` header so the
stream is slow enough to watch. Screenshots for docs/widget.md are saved on the way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from browser_helpers import JupyterLab, Notebook, recording_page
from playwright.sync_api import Browser, Locator, Page, expect

SETUP = "from nbstream.widget import ChatWidget\nPACE = 'x-nbstream-pace'"
TOOL = '''def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: the city name
    """
    return f"Sunny in {city}, 21 °C"'''


@pytest.fixture(scope="module")
def dialogs() -> list[str]:
    return []


@pytest.fixture(scope="module")
def notebook(browser: Browser, jupyterlab: JupyterLab, dialogs: list[str]) -> Iterator[Notebook]:
    """One notebook page for the module, with the widget imported."""
    with recording_page(browser, dialogs, width=1100, height=1000) as page:
        notebook = Notebook.open(page, jupyterlab, "widget.ipynb")
        notebook.run(SETUP)
        yield notebook


def chat_in(notebook: Notebook, code: str) -> Locator:
    """Run `code` (ending with a widget expression) and return its rendered chat view."""
    chat = notebook.run(code).locator(".nbs-chat")
    expect(chat).to_be_visible()
    return chat


def ask(chat: Locator, text: str) -> None:
    """Type `text` and press Enter; the view clears the box once it has sent it."""
    chat.locator(".nbs-input").fill(text)
    chat.locator(".nbs-input").press("Enter")
    expect(chat.locator(".nbs-input")).to_have_value("")


def wait_done(chat: Locator, replies: int, timeout: float = 30_000) -> Locator:
    """Wait for the `replies`-th committed reply (the streaming bubble is not one)."""
    answers = chat.locator(".nbs-assistant:not(.nbs-live)")
    expect(answers).to_have_count(replies, timeout=timeout)
    expect(chat.locator(".nbs-live")).to_have_count(0)
    expect(chat.locator(".nbs-send")).to_be_enabled()
    return answers.nth(replies - 1)


def shot(page: Page, chat: Locator, path: Path) -> None:
    chat.scroll_into_view_if_needed()
    chat.screenshot(path=str(path))


def test_reply_streams_progressively_while_cells_run(notebook: Notebook, docs_dir: Path) -> None:
    chat = chat_in(notebook, "w1 = ChatWidget(extra_headers={PACE: 'tps=50'})\nw1")
    ask(chat, "/tokens 200")  # 4 s at 50 tokens/s
    live = chat.locator(".nbs-live .nbs-md")
    expect(live).to_be_visible()
    lengths: list[int] = []
    status = ""
    for _ in range(12):
        if not live.count():
            break
        lengths.append(len(live.inner_text()))
        status = chat.locator(".nbs-status").inner_text()
        time.sleep(0.15)
    grown = [b > a for a, b in pairwise(lengths)]
    assert len(lengths) >= 8 and sum(grown) >= 6, lengths
    assert re.search(r"streaming · tutor · TTFT [\d.]+ s · [\d.]+ tok/s · \d+ tokens", status)
    shot(notebook.page, chat, docs_dir / "widget-streaming.png")
    cell = notebook.run("6 * 7")  # the kernel answers while the reply still streams
    assert "42" in notebook.output_text(cell)
    expect(chat.locator(".nbs-live")).to_have_count(1)
    answer = wait_done(chat, 1)
    expect(answer.locator(".nbs-footer")).to_contain_text("10 → 200 tokens")
    expect(answer.locator("h2").first).to_have_text("1. Deltas")
    expect(answer.locator("pre.nbs-code").first).to_contain_text("for delta in deltas")
    expect(chat.locator(".nbs-status")).to_contain_text("tok/s")


def test_stop_keeps_the_partial_reply_marked(notebook: Notebook, docs_dir: Path) -> None:
    chat = chat_in(notebook, "w2 = ChatWidget(extra_headers={PACE: 'tps=40'})\nw2")
    chat.locator(".nbs-input").fill("/tokens 3000")
    chat.locator(".nbs-send").click()
    live = chat.locator(".nbs-live .nbs-md")
    expect(live).to_contain_text("Usage arrives last", timeout=15_000)
    chat.locator(".nbs-stop").click()
    answer = wait_done(chat, 1)
    expect(answer.locator(".nbs-stopped")).to_have_text("■ stopped: partial reply")
    expect(chat.locator(".nbs-status")).to_contain_text("stopped")
    expect(chat.locator(".nbs-send")).to_be_enabled()
    cell = notebook.run(
        "t = w2.session.turns[-1]\n"
        "t.interrupted, w2.messages[1]['interrupted'], 0 < len(t.result.text) < 3000 * 4"
    )
    assert "(True, True, True)" in notebook.output_text(cell)
    shot(notebook.page, chat, docs_dir / "widget-stopped.png")


def test_html_in_model_output_is_shown_not_run(
    notebook: Notebook, dialogs: list[str], docs_dir: Path
) -> None:
    chat = chat_in(notebook, "w3 = ChatWidget()\nw3")
    payload = (
        "/echo <img src=x onerror=\"window.__nbsPwned=1;alert('img')\"> and "
        "<script>window.__nbsPwned=2;alert('script')</script>\n"
        "**still Markdown** with [a link](javascript:alert('link')) and "
        "<a href=\"javascript:alert('a')\">html link</a>\n\n"
        "```html\n<script>alert('code')</script>\n```"
    )
    ask(chat, payload)
    answer = wait_done(chat, 1)
    expect(answer).to_contain_text("<img src=x onerror=")
    expect(answer).to_contain_text("<script>window.__nbsPwned=2;alert('script')</script>")
    expect(answer.locator("strong")).to_have_text("still Markdown")
    expect(answer.locator("pre.nbs-code")).to_have_text("<script>alert('code')</script>")
    time.sleep(0.5)  # give any injected handler the chance to fire
    for selector in ("img", "script", "a[href^='javascript']", "iframe", "[onerror]"):
        assert chat.locator(selector).count() == 0, selector
    assert notebook.page.evaluate("window.__nbsPwned") is None
    assert dialogs == []
    shot(notebook.page, chat, docs_dir / "widget-escaping.png")


def test_tool_cards_grow_then_show_the_result(notebook: Notebook, docs_dir: Path) -> None:
    notebook.run(TOOL)
    chat = chat_in(
        notebook, "w4 = ChatWidget(tools=[get_weather], extra_headers={PACE: 'tps=8'})\nw4"
    )
    ask(chat, "What's the weather in Paris?")
    args = chat.locator(".nbs-live .nbs-tool-args")
    expect(args).to_be_visible(timeout=15_000)
    seen: list[str] = []
    while not chat.locator(".nbs-live .nbs-tool-result").count() and len(seen) < 100:
        if args.count():
            seen.append(args.inner_text())
        time.sleep(0.05)
    distinct = [text for i, text in enumerate(seen) if i == 0 or text != seen[i - 1]]
    assert len(distinct) >= 3 and distinct[-1].endswith('"Paris"}'), distinct
    expect(chat.locator(".nbs-live .nbs-tool-result")).to_have_text("Sunny in Paris, 21 °C")
    answer = wait_done(chat, 1)
    expect(answer.locator(".nbs-tool-state")).to_have_text("✓ done")
    expect(answer.locator(".nbs-md")).to_contain_text("Sunny in Paris")
    shot(notebook.page, chat, docs_dir / "widget-tools.png")


def test_another_view_rebuilds_from_the_synced_state(notebook: Notebook) -> None:
    first = chat_in(notebook, "w5 = ChatWidget(extra_headers={PACE: 'tps=60'})\nw5")
    ask(first, "/echo hello *there*")
    wait_done(first, 1)
    ask(first, "/tokens 300")
    expect(first.locator(".nbs-live")).to_have_count(1)
    second = chat_in(notebook, "w5")  # a second view, rendered mid-stream
    expect(second.locator(".nbs-assistant em").first).to_have_text("there")
    expect(second.locator(".nbs-live .nbs-md")).to_contain_text("Deltas", timeout=10_000)
    wait_done(first, 2)
    wait_done(second, 2)
    assert first.locator(".nbs-transcript").inner_text() == (
        second.locator(".nbs-transcript").inner_text()
    )


def test_keys_model_selector_and_new_chat(notebook: Notebook) -> None:
    chat = chat_in(notebook, "w6 = ChatWidget()\nw6")
    cells = notebook.cells.count()
    box = chat.locator(".nbs-input")
    box.click()
    box.type("/echo line one")
    box.press("Shift+Enter")
    box.type("line two")
    expect(box).to_have_value("/echo line one\nline two")
    chat.locator(".nbs-model").select_option("gpt-4o")
    box.press("Enter")
    answer = wait_done(chat, 1)
    expect(answer.locator(".nbs-md")).to_have_text("line one\nline two")
    expect(answer.locator(".nbs-footer")).to_contain_text("gpt-4o")
    assert notebook.cells.count() == cells  # typing never ran or added a cell
    chat.locator(".nbs-new").click()
    expect(chat.locator(".nbs-msg")).to_have_count(0)
    cell = notebook.run("len(w6.messages), len(w6.session.history), w6.model")
    assert "(0, 0, 'gpt-4o')" in notebook.output_text(cell)


def test_works_in_notebook_7(page: Page, jupyterlab: JupyterLab, docs_dir: Path) -> None:
    pytest.importorskip("notebook", minversion="7", reason="Notebook 7 is not installed")
    notebook = Notebook.open(page, jupyterlab, "widget-nb7.ipynb", ui="notebook7")
    chat = chat_in(notebook, f"{SETUP}\nw7 = ChatWidget(extra_headers={{PACE: 'tps=60'}})\nw7")
    ask(chat, "/tokens 150")
    expect(chat.locator(".nbs-live .nbs-md")).to_contain_text("Deltas")
    expect(chat.locator(".nbs-status")).to_contain_text("streaming")
    answer = wait_done(chat, 1)
    expect(answer.locator(".nbs-footer")).to_contain_text("10 → 150 tokens")
    shot(page, chat, docs_dir / "widget-notebook7.png")
