"""The console watcher every browser test relies on really catches what it should."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def _wait_for(page, problems, needle: str) -> bool:
    """Console events arrive asynchronously: give them up to two seconds."""
    for _ in range(100):
        if any(needle in text for text in problems.seen):
            return True
        page.wait_for_timeout(20)
    return False


def test_csp_refusal_of_an_inline_script_is_caught(page, problems):
    page.goto("/login/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.head.appendChild(script);
        }"""
    )
    assert _wait_for(page, problems, "Content Security Policy"), problems.seen
    assert page.evaluate("() => window.inlineRan === undefined"), "the CSP let an inline script run"
    problems.seen.clear()


def test_uncaught_exception_is_caught(page, problems):
    page.goto("/login/")
    page.evaluate("() => { setTimeout(() => { throw new Error('boom from a test') }, 0) }")
    assert _wait_for(page, problems, "boom from a test"), problems.seen
    problems.seen.clear()
