"""Fixtures for the browser tests: one headless Chromium per session, one watched page per test.

Every page a test opens is watched: a console error or an uncaught exception on any of
them (a CSP refusal, a 404 script, a JS bug) fails the test at teardown, unless the test
said beforehand that it expects that exact message.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Bind the live server to the loopback address itself, not whatever "localhost" resolves to.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDE, TABLET = 1280, 820
PASSWORD = "brush-and-ink-42"


def browser_required() -> bool:
    """CI sets CASTBOARD_REQUIRE_BROWSER=1 so that a missing browser fails instead of skipping."""
    return os.environ.get("CASTBOARD_REQUIRE_BROWSER", "") == "1"


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """Debian's Chromium driven by Playwright (Playwright's own browser download is not used).

    Module-scoped on purpose: while Playwright's sync API is active it keeps an event loop
    marked as running in the main thread, and Django then refuses ORM calls unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set. Both end with the module, so the rest of the suite
    keeps Django's async-safety check.
    """
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        message = f"{CHROMIUM} is not installed: apt-get install chromium to run the browser tests"
        if browser_required():
            pytest.fail(message + " (CASTBOARD_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Tests create rows from the main thread while the page is open; the live server
        # answers from its own thread, so nothing here really runs inside the loop.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class Problems:
    """Console errors and page errors seen so far, each with the page it happened on."""

    seen: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect a console error matching `pattern` (e.g. the 403 of a refused request)."""
        self.allowed.append(re.compile(pattern))

    def add(self, where: str, text: str) -> None:
        if not any(p.search(text) for p in self.allowed):
            self.seen.append(f"{where}: {text}")


def _watch(page, problems: Problems) -> None:
    def on_console(message) -> None:
        if message.type == "error":
            location = message.location or {}
            problems.add(page.url, f"{message.text} ({location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.add(page.url, f"uncaught {error}"))


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def page(chromium, live_server, problems) -> Iterator:
    """A fresh browser context (no cookies) at desktop width; fails the test on console errors."""
    context = chromium.new_context(
        viewport={"width": WIDE, "height": 900}, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    context.on("page", lambda p: _watch(p, problems))
    page = context.new_page()
    yield page
    context.close()
    assert not problems.seen, "console or page errors:\n" + "\n".join(problems.seen)


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: the test's own temporary folder, never the repository."""
    folder = tmp_path / "shots"
    folder.mkdir()
    return folder


def screenshot(page, folder: Path, name: str) -> list[Path]:
    """Save full-page PNGs of the current page at desktop and tablet widths."""
    saved = []
    size = page.viewport_size
    for width in (WIDE, TABLET):
        page.set_viewport_size({"width": width, "height": 900})
        path = folder / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path)
    page.set_viewport_size(size)
    return saved


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
