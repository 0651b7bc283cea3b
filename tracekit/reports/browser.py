"""Open report pages in headless Chromium and check that every plotly figure drew data.

A figure *draws data* when at least one of its traces has two or more drawn points: vertices of
a line, markers, bars with an area, boxes, a heatmap image, or treemap rectangles. A chart whose
x values cannot be placed on its axis (datetimes on a linear axis, say) draws nothing and fails.
Chromium is driven through choreographer (kaleido's browser controller) over its DevTools pipe,
with no network and a fresh profile.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracekit.errors import TracekitError

__all__ = ["CHROMIUM_FLAGS", "FigureCheck", "check_pages"]

#: Extra switches on top of choreographer's (headless, no sandbox, no GPU, no first run, no
#: component updates, no sync, a temporary profile): nothing reaches the network.
CHROMIUM_FLAGS: tuple[str, ...] = ("--disable-quic", "--disable-background-networking")

# Counts, per figure, the most drawn points of any one trace (see the module docstring).
_CHECK_JS = r"""
(async () => {
  const figs = () => Array.from(document.querySelectorAll('div.plotly-graph-div'));
  const until = Date.now() + %(timeout_ms)d;
  while (Date.now() < until) {
    if (window.Plotly && figs().every(gd => gd._fullLayout && gd.querySelector('.main-svg')))
      break;
    await new Promise(r => setTimeout(r, 100));
  }
  const vertices = d => (d && !/NaN|Infinity/.test(d)) ? (d.match(/[ML]/g) || []).length : 0;
  return {plotly: !!window.Plotly, figures: figs().map(gd => {
    const fl = gd._fullLayout || {};
    const title = (fl.title && fl.title.text) || '';
    let best = 0, traces = 0;
    gd.querySelectorAll('g.trace, g.hm').forEach(t => {
      traces += 1;
      let n = 0;
      const drawn = d => d !== '' && d !== 'M0,0Z' && !/NaN/.test(d);
      const count = sel => Array.from(t.querySelectorAll(sel)).filter(
        p => drawn(p.getAttribute('d') || '')).length;
      t.querySelectorAll('path.js-line').forEach(p => {
        n = Math.max(n, vertices(p.getAttribute('d')));
      });
      n = Math.max(n, Array.from(t.querySelectorAll('path.point')).filter(
        p => !/NaN/.test(p.getAttribute('transform') || '') && (p.getAttribute('d') || '') !== ''
      ).length);
      n = Math.max(n, count('g.point > path'), t.querySelectorAll('path.box').length);
      // treemap rectangles (a collapsed one is drawn as an empty or zero-size path)
      n = Math.max(n, count('g.slice > path.surface'));
      t.querySelectorAll('image').forEach(im => {
        const w = +im.getAttribute('width') || 0, h = +im.getAttribute('height') || 0;
        if (w > 0 && h > 0) n = Math.max(n, 2);
      });
      best = Math.max(best, n);
    });
    return {title: title, traces: traces, drawn: best, rendered: !!gd._fullLayout};
  })};
})()
"""


@dataclass(frozen=True)
class FigureCheck:
    """One plotly figure of a page, as Chromium drew it."""

    page: str
    index: int
    title: str
    traces: int
    drawn: int

    @property
    def draws_data(self) -> bool:
        """At least one trace with two or more drawn points or bars."""
        return self.drawn >= 2


def _browser_cls() -> Any:
    from choreographer.browsers.chromium import Chromium

    class _Offline(Chromium):
        def get_cli(self) -> list[str]:
            return [*super().get_cli(), *CHROMIUM_FLAGS]

    return _Offline


async def _check(pages: Sequence[Path], chromium: str, timeout_s: float) -> list[FigureCheck]:
    from choreographer import Browser

    results: list[FigureCheck] = []
    with tempfile.TemporaryDirectory(prefix="tracekit-chromium-") as profile:
        async with Browser(path=chromium, browser_cls=_browser_cls(), tmp_dir=profile) as browser:
            for page in pages:
                tab = await browser.create_tab("about:blank", window=True, width=1280, height=900)
                await tab.send_command("Page.enable")
                loaded = tab.subscribe_once("Page.loadEventFired")
                await tab.send_command("Page.navigate", params={"url": page.resolve().as_uri()})
                await asyncio.wait_for(loaded, timeout_s)
                js = _CHECK_JS % {"timeout_ms": int(timeout_s * 1000)}
                response = await tab.send_command(
                    "Runtime.evaluate",
                    params={"expression": js, "awaitPromise": True, "returnByValue": True},
                )
                value = response.get("result", {}).get("result", {}).get("value")
                if not isinstance(value, dict):
                    raise TracekitError(f"{page}: the figure check did not run ({response})")
                for i, fig in enumerate(value["figures"]):
                    results.append(
                        FigureCheck(page.name, i, fig["title"], fig["traces"], fig["drawn"])
                    )
                await browser.close_tab(tab.target_id)
    return results


def check_pages(
    pages: Sequence[Path], chromium: str | None = None, timeout_s: float = 30.0
) -> list[FigureCheck]:
    """Open each page (``file://``) in headless Chromium and measure what every figure drew.

    Raises
    ------
    TracekitError
        No Chromium is installed, or a page could not be evaluated.
    """
    from tracekit.reports.figures import chromium_path

    chromium = chromium or chromium_path()
    if chromium is None:
        raise TracekitError("no chromium on PATH: the browser check needs Debian's chromium")
    return asyncio.run(_check(list(pages), chromium, timeout_s))
