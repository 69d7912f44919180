"""Browser tests: a real Home Assistant on the simulator, driven in headless Chromium.

Run with ``scripts/browser-test``. The session starts its own stack (dev/develop.py's
``DevStack``) on free ports with a fresh config directory, so a running
``scripts/develop`` is never touched, plus a second simulator for the account the
config flow test adds. Screenshots go to docs/screenshots/ (``--screenshots DIR``).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from dev.bootstrap import DEV_PASSWORD, DEV_USERNAME, HomeAssistantApi
from dev.config import INTEGRATION, REPO
from dev.develop import DevStack, free_port, wait_for_port

from .second_simulator import FIRST_ACCOUNT_PLANTS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 860}
TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class SecondAccount:
    """A second simulator (its own account) for the config flow test."""

    url: str
    username: str = "owner_nbi"
    password: str = "owner-pass-2"
    plants: int = 3


@dataclass(frozen=True)
class OAuthCloud:
    """A simulator of today's cloud whose consent page's owner has two plants of its own."""

    url: str
    plants: int = 2


@dataclass
class Instance:
    """The running Home Assistant and how to reach its API."""

    stack: DevStack
    token: str

    @property
    def url(self) -> str:
        """Home Assistant's URL."""
        return self.stack.url

    def api[T](self, call: Callable[[HomeAssistantApi], Awaitable[T]]) -> T:
        """Run ``call`` against Home Assistant's API (in a thread: Playwright owns a loop)."""

        async def run() -> T:
            async with aiohttp.ClientSession() as session:
                api = HomeAssistantApi(session, self.url)
                api.token = self.token
                return await call(api)

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, run()).result()

    def ws(self, type_: str, **data: Any) -> Any:
        """Send one websocket command."""

        async def call(api: HomeAssistantApi) -> Any:
            async with api.websocket() as ws:
                return await ws.call(type_, **data)

        return self.api(call)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Where screenshots go."""
    parser.addoption(
        "--screenshots",
        default=str(REPO / "docs" / "screenshots"),
        help="directory for the screenshots (default docs/screenshots)",
    )


@pytest.fixture(scope="session")
def screenshots(pytestconfig: pytest.Config) -> Path:
    """The screenshot directory."""
    path = Path(pytestconfig.getoption("screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """Home Assistant with the simulator account added, 2 days of history imported."""
    stack = DevStack(
        tmp_path_factory.mktemp("ha-config"),
        free_port(),
        free_port(),
        plants=2,
        seed=1,
        history_days=2,
    )
    with stack:
        _result, token = stack.bootstrap()
        yield Instance(stack, token)


@contextmanager
def _simulator(
    tmp_path_factory: pytest.TempPathFactory, name: str, args: list[str]
) -> Iterator[str]:
    """Run ``tests_browser.second_simulator`` with ``args`` (after the port); its URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp(name.replace(" ", "-")) / "simulator.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests_browser.second_simulator", str(port), *args],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(name, port, process, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def second_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondAccount]:
    """Another simulator with its own account and three plants (Plant 3 to Plant 5)."""
    account = SecondAccount(url="")
    args = [account.username, account.password, str(account.plants)]
    with _simulator(tmp_path_factory, "second simulator", args) as url:
        yield SecondAccount(url=url)


@pytest.fixture(scope="session")
def oauth_cloud(
    tmp_path_factory: pytest.TempPathFactory, second_account: SecondAccount
) -> Iterator[OAuthCloud]:
    """Today's cloud (OAuth exists nowhere else): the owner's plants follow the others'."""
    cloud = OAuthCloud(url="")
    args = [*("owner_nbi_2026", "unused-pass", str(cloud.plants)), "--profile", "cloud-2026"]
    first = FIRST_ACCOUNT_PLANTS + second_account.plants  # Plant 6, Plant 7
    with _simulator(tmp_path_factory, "oauth cloud", [*args, "--first", str(first)]) as url:
        yield OAuthCloud(url=url)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, with no network of its own."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _serve_brand(route: Route) -> None:
    """Answer the brands CDN (unreachable here) from the integration's brand/ folder.

    Home Assistant 2026.3+ serves that folder itself; older frontends ask the CDN.
    """
    url = route.request.url
    image = INTEGRATION / "brand" / url.rsplit("/", 1)[-1].replace("dark_", "")
    if "/fusionsolar/" in url and image.name.startswith("icon") and image.exists():
        route.fulfill(path=image, content_type="image/png")
    elif "/fusionsolar/" in url and (INTEGRATION / "brand" / "icon.png").exists():
        route.fulfill(path=INTEGRATION / "brand" / "icon.png", content_type="image/png")
    else:
        route.abort()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the test item (for failure screenshots)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def failure_screenshot(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """On failure, save what the browser showed (outside docs/screenshots)."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and "page" in request.fixturenames:
        path = tmp_path_factory.mktemp("failures") / f"{request.node.name}.png"
        request.getfixturevalue("page").screenshot(path=path)
        print(f"failure screenshot: {path}")


@pytest.fixture(scope="session")
def page(browser: Browser, instance: Instance) -> Iterator[Page]:
    """A page logged in as the dev owner, like a person at the login form."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    context.route("https://brands.home-assistant.io/**", _serve_brand)
    page = context.new_page()
    page.goto(instance.url)
    page.locator('input[name="username"]').fill(DEV_USERNAME)
    page.locator('input[name="password"]').fill(DEV_PASSWORD)
    page.locator('input[name="password"]').press("Enter")
    page.wait_for_url("**/lovelace/**")
    yield page
    context.close()
