"""The playground in a real headless Chromium (Debian's package), driven by Playwright for Python,
against one real local stack per module (tests/local_stack.py).

Playwright cannot download its browsers here, so it is pointed at the system Chromium. Without
one, these tests skip with how to install it; with LEPTON_REQUIRE_BROWSER=1 (set by .ci/run) a
missing browser fails them instead.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventfiles import ROOT
from local_stack import aws_environment, moto_server, stack, stack_models  # noqa: F401 - fixtures

#: Where the tests leave their screenshots (git-ignored); docs/playground.png is one of them.
SCREENSHOTS = Path(os.environ.get("LEPTON_SCREENSHOTS", ROOT / ".lepton" / "screenshots"))
# Headless, and nothing that reaches for the network: this machine's network is closed.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage"]
INSTALL = ("install Chromium (Debian/Ubuntu: `apt-get install -y chromium`, or set LEPTON_CHROMIUM to a "
           "Chromium/Chrome binary) and Playwright (`make venv` installs requirements/dev.txt)")


def chromium_path() -> str | None:
    wanted = os.environ.get("LEPTON_CHROMIUM")
    if wanted:
        return wanted if Path(wanted).is_file() else None
    return next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)


def unavailable(reason: str) -> None:
    if os.environ.get("LEPTON_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LEPTON_REQUIRE_BROWSER=1 but {reason}; {INSTALL}", pytrace=False)
    pytest.skip(f"{reason}: the browser tests need it; {INSTALL}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed")
    executable = chromium_path()
    if executable is None:
        unavailable("no Chromium was found")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, stack, request) -> Iterator[Any]:  # noqa: F811 - the stack fixture imported above
    """A fresh page at desktop size; saves a screenshot at the end, and fails the test on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
    # A 4xx the page asked for is logged as "Failed to load resource": an answer, not a page error.
    page.on("console", lambda msg: errors.append(f"console error: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.base_url = stack.base_url
    page.errors = errors
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{request.node.name}.png", full_page=True)
    context.close()
    assert not errors, errors
