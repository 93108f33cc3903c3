"""The board in a real headless Chromium (Debian's ``chromium`` package, driven by Playwright).

Screenshots go to ``test-artifacts/board/`` (ignored by git). Skips, saying why, when Playwright
or Chromium is missing (CI installs ``chromium`` with apt-get).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from loracity.history import load_history
from tests.api.board.conftest import MeetupData, RunningBoard

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "board"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _chromium() -> str | None:
    explicit = os.environ.get("LORACITY_TEST_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    executable = _chromium()
    if executable is None:
        pytest.skip(
            "no Chromium found: install Debian's package (apt-get install -y chromium) or set "
            "LORACITY_TEST_CHROMIUM to a Chromium binary"
        )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(
    browser: Any,
    *,
    width: int = 1920,
    height: int = 1080,
    locale: str = "en-GB",
    bypass_csp: bool = True,
) -> Any:
    # Playwright's wait_for_function evaluates strings, which the board's CSP forbids; the
    # kiosk test loads the page under its real CSP and checks that nothing is refused.
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale=locale, bypass_csp=bypass_csp
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    page.errors = errors
    return page


def test_board_live_map_language_and_replay(
    browser: Any, board_server: RunningBoard, meetup_data: MeetupData
) -> None:
    with psycopg.connect(meetup_data.database_url) as conn:
        euis = {r[0] for r in conn.execute("SELECT dev_eui FROM devices")}
    page = _page(browser)
    page.goto(board_server.url + "/board?lang=en")
    page.wait_for_selector("#map g.dev")
    page.wait_for_function("document.querySelector('#status').dataset.state === 'live'")

    # Every scenario device is on the map, placed from its coordinates.
    on_map = set(page.eval_on_selector_all("#map g.dev", "els => els.map(e => e.dataset.devEui)"))
    assert on_map == euis
    assert page.locator("#map g.gw").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "overview-1920.png"))

    # New traffic arrives: the numbers change without a reload.
    before = page.inner_text("#fig-uplinks")
    first_tick = page.inner_text("#ticker li:first-child .tk-time")
    load_history(
        database_url=meetup_data.database_url,
        scenario="meetup",
        start=meetup_data.end,
        end=datetime.now(UTC) + timedelta(seconds=1),
    )
    page.wait_for_function(
        "([b, t]) => document.querySelector('#fig-uplinks').textContent !== b"
        " && document.querySelector('#ticker li .tk-time').textContent !== t",
        arg=[before, first_tick],
        timeout=15_000,
    )

    # The language toggle changes the labels.
    assert page.inner_text("#view-overview .figure h2 >> nth=0") == "People on site"
    page.click("#btn-lang")
    assert page.inner_text("#view-overview .figure h2 >> nth=0") == "Menschen vor Ort"
    assert page.inner_text("#views button[data-view=people]") == "Menschen"
    page.click("#btn-lang")

    # Arrow keys cycle the views.
    page.keyboard.press("ArrowRight")
    assert page.locator("#view-people").is_visible()
    assert "counted anonymously" in page.inner_text("#view-people .privacy")
    page.screenshot(path=str(ARTIFACTS / "people-1920.png"))
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#view-environment .env-tile[data-quantity=co2] .uplot")
    assert "Umweltbundesamt" not in page.inner_text("#view-environment")
    assert "German Environment Agency" in page.inner_text("#view-environment")
    page.screenshot(path=str(ARTIFACTS / "environment-1920.png"))
    page.keyboard.press("ArrowRight")
    assert page.locator("#view-network").is_visible()
    page.screenshot(path=str(ARTIFACTS / "network-1920.png"))
    page.keyboard.press("ArrowRight")

    # Replay: "r" opens it, a stored period plays, the replayed time advances.
    page.keyboard.press("r")
    page.wait_for_selector("#replay:not([hidden])")
    page.wait_for_function("document.querySelector('#replay-time').textContent !== ''")
    assert page.inner_text("#status-text") == "Replay"
    page.select_option("#replay-speed", "120")
    start_text = page.inner_text("#replay-time")
    page.click("#replay-play")
    page.wait_for_function(
        "t => document.querySelector('#replay-time').textContent !== t",
        arg=start_text,
        timeout=10_000,
    )
    first = page.evaluate("Date.parse(window.board.state.snap.at)")
    page.wait_for_timeout(2500)
    second = page.evaluate("Date.parse(window.board.state.snap.at)")
    assert second - first >= 60_000, "at 120x, 2.5 s of play covers minutes of stored time"
    page.screenshot(path=str(ARTIFACTS / "replay-1920.png"))
    # Replay is this viewer's only: another viewer stays live meanwhile.
    other = _page(browser, width=800, height=600)
    other.goto(board_server.url + "/board?lang=en")
    other.wait_for_function("document.querySelector('#status').dataset.state === 'live'")
    assert other.locator("#replay").is_hidden()
    assert other.evaluate("window.board.state.snap.live") is True
    other.context.close()
    page.keyboard.press("Escape")
    page.wait_for_function("document.querySelector('#status').dataset.state === 'live'")
    assert page.errors == []
    page.context.close()


def test_phone_layout_fits_390_px(browser: Any, board_server: RunningBoard) -> None:
    page = _page(browser, width=390, height=844, locale="de-DE")
    page.goto(board_server.url + "/board")
    page.wait_for_selector("#map g.dev")
    # German from the browser's language.
    assert page.inner_text("#views button[data-view=overview]") == "Übersicht"
    for view in ("overview", "people", "environment", "network"):
        page.click(f"#views button[data-view={view}]")
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{view} is {width} px wide"
        page.screenshot(path=str(ARTIFACTS / f"phone-{view}.png"), full_page=True)
    assert page.errors == []
    page.context.close()


def test_kiosk_url_parameters(browser: Any, board_server: RunningBoard) -> None:
    page = _page(browser, bypass_csp=False)
    page.goto(board_server.url + "/board?lang=de&view=people&kiosk=1&theme=light")
    page.wait_for_selector("#view-people .site")
    assert page.locator("#view-people").is_visible()
    assert not page.locator("#btn-replay").is_visible()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    assert "Zählung ohne Personenbezug" in page.inner_text("#view-people")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#view-environment .uplot")
    page.screenshot(path=str(ARTIFACTS / "environment-kiosk-light.png"))
    assert page.errors == [], "nothing refused by the page's Content-Security-Policy"
    page.context.close()


_SMALL_TEXT_JS = """
() => {
  const small = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg, .uplot, #replay') || !el.getClientRects().length) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 24) small.push(`${el.tagName}.${el.className}: ${size}px`);
  }
  return small;
}
"""


def test_projector_text_sizes(browser: Any, board_server: RunningBoard) -> None:
    page = _page(browser)
    page.goto(board_server.url + "/board?lang=de&kiosk=1")
    page.wait_for_selector("#map g.dev")
    for view in ("overview", "people", "environment", "network"):
        page.evaluate(f"document.querySelector('#views button[data-view={view}]').click()")
        page.wait_for_timeout(300)
        assert page.evaluate(_SMALL_TEXT_JS) == [], f"text under 24 px at 1080p in {view}"
    page.evaluate("document.querySelector('#views button[data-view=overview]').click()")
    sizes = page.eval_on_selector_all(
        "#view-overview .big", "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes
    assert min(sizes) >= 64
    # The overview fits the projector without scrolling.
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "overview-kiosk-1920.png"))
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    page.context.close()


def test_dropped_stream_says_reconnecting_then_recovers(
    browser: Any, board_server: RunningBoard
) -> None:
    page = _page(browser)
    page.route("**/board/events", lambda route: route.abort())
    page.goto(board_server.url + "/board?lang=en")
    page.wait_for_function("document.querySelector('#status').dataset.state === 'reconnecting'")
    assert page.inner_text("#status-text") == "reconnecting …"
    assert "offline" in (page.get_attribute("#main", "class") or "")
    page.unroute("**/board/events")
    page.wait_for_function(
        "document.querySelector('#status').dataset.state === 'live'", timeout=20_000
    )
    assert "offline" not in (page.get_attribute("#main", "class") or "")
    page.wait_for_selector("#map g.dev")
    page.context.close()


def test_embed_page_draws_its_chart_in_a_frame(
    browser: Any, board_server: RunningBoard, meetup_data: MeetupData
) -> None:
    with psycopg.connect(meetup_data.database_url) as conn:
        row = conn.execute("SELECT dev_eui FROM devices WHERE name = 'library-air'").fetchone()
    assert row is not None
    page = _page(browser, width=700, height=400, bypass_csp=False)
    page.goto(board_server.url + f"/board/embed/{row[0]}/co2?lang=de&hours=2")
    page.wait_for_selector("#chart .uplot canvas")
    assert page.inner_text("#title") == "CO₂ (ppm) · library-air"
    assert "Mittelwert je" in page.inner_text("#rule")
    page.screenshot(path=str(ARTIFACTS / "embed-co2.png"))
    assert page.errors == []
    page.context.close()
