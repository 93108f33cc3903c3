"""The board's theme colours meet WCAG AA (4.5:1) for text on both backgrounds."""

from __future__ import annotations

import re
from importlib import resources

import pytest

CSS = (resources.files("api") / "static" / "board" / "board.css").read_text(encoding="utf-8")
TEXT_COLOURS = ("--fg", "--muted", "--stale", "--accent", "--ok", "--warn", "--bad")
BACKGROUNDS = ("--bg", "--panel", "--map-bg")


def _theme(selector: str) -> dict[str, str]:
    block = re.search(re.escape(selector) + r"[^{]*\{([^}]*)\}", CSS)
    assert block, selector
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", block.group(1)))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("selector", [':root, [data-theme="dark"]', '[data-theme="light"]'])
def test_text_colours_reach_aa_on_every_background(selector: str) -> None:
    theme = _theme(selector)
    failures = [
        f"{fg} {theme[fg]} on {bg} {theme[bg]}: {contrast(theme[fg], theme[bg]):.2f}"
        for fg in TEXT_COLOURS
        for bg in BACKGROUNDS
        if contrast(theme[fg], theme[bg]) < 4.5
    ]
    assert not failures, failures
