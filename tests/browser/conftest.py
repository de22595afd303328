"""The browser harness of the web pages: Debian's Chromium driven by Playwright (never a
downloaded browser), one browser and one context per test, with every page watched.

- `suite` (fixture): the whole suite running for one test (`tests.support.running_suite`).
- `page` (fixture): a 1280x800 page whose CSP violations (console) and uncaught script errors
  (`pageerror`) fail the test, and whose requests are recorded (`requests_seen(page)`).
- `axe_check(page)`: axe-core from node_modules/ (WCAG 2.0/2.1 A and AA rules); any violation of
  impact serious or critical fails, listed with its id, targets and help. Injected with
  `page.evaluate` (the CSP blocks added script tags, rightly), so no `bypass_csp`.
- `assert_reflows(page)`: at 320 px nothing is wider than the screen (WCAG 1.4.10).
- `tab_to(page, role, name)`: Tab until that element has the focus, which must be visible.
- `shot(page, name)`: a screenshot in var/screenshots/<name>.png.

A missing Chromium or axe-core skips, except under SAMHANDLING_REQUIRE_BROWSER=1 (CI), where
it fails. One browser per test, not per module: pytest-asyncio runs each test in its own event
loop, and the suite fixtures a test uses must share the loop the browser was started in."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from services.platform.settings import REPO_ROOT
from tests.support import Suite, running_suite

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
INSTALL_HINT = "Chromium is not installed (Debian: apt-get install chromium)"
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_HINT = "axe-core is not installed (make node_modules/.package-lock.json, i.e. npm ci)"
# Chromium on a closed network as root, the way this machine runs it (no sandbox, no background traffic).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
MAX_TABS = 200


def require(available: bool, hint: str) -> None:
    """Skips without `available`; CI (SAMHANDLING_REQUIRE_BROWSER=1) fails instead."""
    if available:
        return
    if os.environ.get("SAMHANDLING_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SAMHANDLING_REQUIRE_BROWSER=1 but {hint}", pytrace=False)
    pytest.skip(hint)


@dataclass
class Watch:
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


_WATCHES: dict[int, Watch] = {}


def watch(page: Page) -> Watch:
    """Records the page's requests and its CSP violations and script errors."""
    seen = _WATCHES.setdefault(id(page), Watch())

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            seen.problems.append(f"CSP: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.problems.append(f"page error: {exc}"))
    page.on("request", lambda request: seen.requests.append(request.url))
    return seen


def requests_seen(page: Page) -> list[str]:
    """Every URL the page has requested so far (documents, styles, scripts, images, fetches)."""
    return list(_WATCHES[id(page)].requests)


@pytest.fixture
async def suite(tmp_path: Path) -> AsyncIterator[Suite]:
    async with running_suite(tmp_path) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require(os.path.exists(CHROMIUM), INSTALL_HINT)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(viewport=VIEWPORT)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A watched page; the test fails if the page broke the CSP or threw."""
    made = await context.new_page()
    seen = watch(made)
    try:
        yield made
    finally:
        _WATCHES.pop(id(made), None)
    if seen.problems:
        pytest.fail("the page logged:\n" + "\n".join(seen.problems), pytrace=False)


async def axe_check(page: Page) -> None:
    require(AXE.exists(), AXE_HINT)
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text() + ";0")
    violations = await page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
        }""",
        AXE_TAGS,
    )
    if violations:
        listed = "\n".join(f"  {v['impact']} {v['id']}: {v['help']} at {v['targets']}" for v in violations)
        pytest.fail(f"axe found serious or critical violations on {page.url}:\n{listed}", pytrace=False)


async def assert_reflows(page: Page) -> None:
    """At 320 CSS px nothing scrolls sideways (the page keeps its viewport afterwards)."""
    before = page.viewport_size
    await page.set_viewport_size(NARROW)
    try:
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROW["width"], f"{page.url} is {width} px wide at {NARROW['width']} px"
    finally:
        if before:
            await page.set_viewport_size(before)


async def tab_to(page: Page, role: str, name: str) -> None:
    """Presses Tab until the element with this role and accessible name has the focus, and
    checks that the focus is visible (an outline other than none)."""
    target = page.get_by_role(role, name=name)  # type: ignore[arg-type]
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await target.evaluate("e => e === document.activeElement"):
            outline = await target.evaluate("e => getComputedStyle(e).outlineStyle")
            assert outline != "none", f"the focus on {role} {name!r} is not visible"
            return
    raise AssertionError(f"Tab never reached {role} {name!r}")


async def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
