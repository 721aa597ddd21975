"""Hostile text (tests/hostile.py) in headless Chromium, on every page of the dashboard.

Every payload sets ``window.__pwned`` to its name if it ever runs. On each page
(map hover, paper panel, semantic search and its results, the text filter, the
colour legend, drill-down, topics, reading list, themes over time, compare
maps) and in every download (CSV, BibTeX, RIS, the exported HTML opened
offline) the test checks that nothing ran (``window.__pwned`` undefined, no
dialog), that nothing was fetched from outside the app, and, where the page
shows text in the DOM, that the payload's characters are there as text.

The server, the page wrapper and the JavaScript helpers are those of
``tests/test_browser.py`` (the dashboard's own browser tests).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import bibtexparser
import pytest
import rispy
from conftest import FakeEmbedder, with_llm_names
from hostile import FLAG, PAYLOADS, TEXTS, write_hostile_csv
from test_browser import (
    COUNT_JS,
    SHOWN_JS,
    SPECIAL_TRACES,
    Tab,
    opened,
    serve,
)
from test_browser import (
    HOVER_JS as HOVER_TEXT_JS,
)

from pipeline import BuildConfig, build, load_map
from pipeline.ingest.clean import clean_text
from pipeline.review.export import FORMULA_START
from pipeline.review.readinglist import ReadingList
from ui.core.latex import readable
from ui.core.view import Filters, filter_mask

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTILE_IDS = [f"hostile-{name}" for name in [*PAYLOADS, *TEXTS, "all"]]
#: The topics' names from a "language model": one payload each.
LLM_NAMES = [PAYLOADS[name] for name in ("script", "img", "svg", "attr_break", "md_link",
                                         "details", "mxss", "katex", "template", "entity")]
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
PAGE_TIMEOUT = 240_000  # ms
_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff]")


def key(text: str, n: int = 16) -> str:
    """The first ``n`` visible characters of ``text`` as the dashboard writes it (LaTeX as
    readable text, issue 13), whitespace and invisibles removed, for comparing with what
    a page shows (wrapped, collapsed, controls dropped)."""
    return _INVISIBLE.sub("", readable(text))[:n]


def shown(text: str, page_text: str) -> bool:
    return key(text) in _INVISIBLE.sub("", page_text)


@pytest.fixture(scope="module")
def hostile_maps(tmp_path_factory) -> Path:
    """The hostile map, a copy to compare it with, and its papers in the reading list."""
    root = tmp_path_factory.mktemp("hostile_browser")
    source = write_hostile_csv(root / "hostile.csv")
    out = root / "maps" / "hostile"
    build([source], out, BuildConfig(), embedder=FakeEmbedder(), cache_dir=root / "cache",
          show_progress=False)
    # Names from a language model are text from outside too (issue 14): payloads written
    # straight into clusters.parquet's llm_label (relabel would have stripped the tags).
    nodes = load_map(out).clusters
    keys = (nodes["level"].astype(str) + ":" + nodes["id"].astype(str)).tolist()
    with_llm_names(out, dict(zip(keys, LLM_NAMES * len(keys), strict=False)))
    shutil.copytree(out, root / "maps" / "hostile-copy")
    ReadingList(out).add(HOSTILE_IDS)
    return out


@pytest.fixture(scope="module")
def server(hostile_maps, tmp_path_factory, browser):
    """The app on the hostile map; semantic search with the fake embedder (no model)."""
    yield from serve(hostile_maps, tmp_path_factory.mktemp("cwd"), fake_search=True)


@pytest.fixture
def tab(browser, server):
    with opened(browser, server.url, check=assert_inert) as page:
        yield page


@pytest.fixture(scope="module")
def docs(hostile_maps):
    return load_map(hostile_maps).documents


def assert_inert(tab: Tab) -> None:
    """Nothing ran, nothing popped up, nothing was fetched from elsewhere."""
    flag = tab.page.evaluate(f"() => window.{FLAG}")
    assert flag is None, f"payload {flag!r} ran"
    assert tab.dialogs == []
    assert tab.external_requests() == []
    dom = tab.page.evaluate("""() => ({
        img: document.querySelectorAll('img[src="x"], img[src$="/x"], img[onerror]').length,
        handlers: document.querySelectorAll(
            '[onload],[onerror],[onfocus],[ontoggle],[onclick]').length,
        js: Array.from(document.querySelectorAll('a,iframe,object,embed')).filter(e =>
            /^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src')
                                     || e.getAttribute('data') || '')).length,
        frames: document.querySelectorAll('iframe[srcdoc]').length,
        scripts: Array.from(document.scripts).filter(s => s.text.includes('__pwned')).length,
    })""")
    assert dom == {"img": 0, "handlers": 0, "js": 0, "frames": 0, "scripts": 0}, dom


def open_page(tab: Tab, path: str = "/", *, min_points: int = 1) -> None:
    """``tab.open`` with a longer wait: a shared test machine can be slow."""
    tab.page.goto(tab.base_url + path)
    tab.page.wait_for_function(f"() => ({COUNT_JS})() >= {min_points}", timeout=PAGE_TIMEOUT)
    tab.settle()


def row_of(docs, paper_id: str) -> int:
    return int(docs.index[docs["id"] == paper_id][0])


def body(tab: Tab) -> str:
    return tab.page.inner_text("body")


# --------------------------------------------------------------------------- the map page


def test_map_hover_shows_every_payload_as_text(tab, docs):
    open_page(tab, min_points=len(docs))
    for paper_id in HOSTILE_IDS:
        hover = tab.hover_row(row_of(docs, paper_id))
        title = docs["title"].iat[row_of(docs, paper_id)]
        assert shown(title, hover), (paper_id, hover[:200])
    assert_inert(tab)


def open_panel(tab: Tab, docs, paper_id: str) -> str:
    """Open ``paper_id``'s panel from the URL; the page text once its title shows."""
    tab.page.goto(f"{tab.base_url}/?paper={quote(paper_id, safe='')}")
    tab.page.wait_for_function(
        "(k) => document.body.innerText.replace(/\\s+/g, '').includes(k)",
        arg=key(docs["title"].iat[row_of(docs, paper_id)], 10), timeout=PAGE_TIMEOUT)
    tab.settle(300)
    return body(tab)


def test_paper_panel_shows_every_payload_as_text(tab, docs):
    # One paper carries every payload and text in its abstract and authors.
    text = open_panel(tab, docs, "hostile-all")
    for name, payload in [*PAYLOADS.items(), *TEXTS.items()]:
        assert shown(clean_text(payload), text), name  # as stored: entities decoded
    assert shown(docs.loc[docs["id"] == "hostile-all", "authors"].iloc[0], text)
    assert tab.page.get_by_text("Open paper").count() == 0  # its url is javascript:
    assert_inert(tab)
    # Payloads in titles, a payload as the paper id, and a 100,000-character abstract.
    for paper_id in ["hostile-script", "hostile-md_image", "hostile-katex", "hostile-bidi",
                     PAYLOADS["script"], "long-abstract"]:
        row = row_of(docs, paper_id)
        text = open_panel(tab, docs, paper_id)
        assert shown(docs["title"].iat[row], text), paper_id
        assert shown(docs["abstract"].iat[row], text), paper_id
        if paper_id == "long-abstract":
            assert "Abstract cut at" in text
        assert_inert(tab)


def choose_option(tab: Tab, label: str, option: str, attempts: int = 3) -> None:
    """Pick ``option`` in the select box ``label``, once the page has finished rerunning.

    A rerun that is still drawing can replace the sidebar and close an open list,
    so the page is let settle first and the pick is retried."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(attempts):
        tab.settle()
        tab.page.locator("[data-testid='stSelectbox']").filter(has_text=label).click()
        choice = tab.page.get_by_role("option", name=option, exact=True)
        try:
            choice.wait_for(timeout=20_000)
            choice.click(timeout=20_000)
            return
        except PlaywrightTimeout:  # closed by a rerun: try again
            tab.page.keyboard.press("Escape")
            if attempt == attempts - 1:
                raise


def test_search_filter_and_legend_show_payloads_as_text(tab, docs):
    open_page(tab, min_points=len(docs))
    # Search with a hostile query; results list titles of hostile papers.
    query = tab.page.get_by_label("Search papers", exact=True)
    query.fill(PAYLOADS["img"] + " window pwned onerror")
    query.press("Enter")
    tab.page.get_by_text("papers for your search").first.wait_for(timeout=PAGE_TIMEOUT)
    tab.page.get_by_text("Search results").first.wait_for(timeout=PAGE_TIMEOUT)
    tab.settle()
    text = body(tab)
    hits = [i for i in HOSTILE_IDS if shown(docs["title"].iat[row_of(docs, i)], text)]
    assert hits, "no hostile title among the search results"
    assert_inert(tab)

    # The text filter with markup in it narrows the map and runs nothing.
    find = tab.page.get_by_label("Words in title or abstract")
    find.fill("<script>")
    find.press("Enter")
    expected = int(filter_mask(docs, Filters(text="<script>")).sum())  # the app's own rule
    assert 0 < expected < len(docs)
    tab.page.wait_for_function(f"() => ({SHOWN_JS})() === {expected}", timeout=PAGE_TIMEOUT)
    find.fill("")
    find.press("Enter")
    tab.page.wait_for_function(f"() => ({SHOWN_JS})() === {len(docs)}", timeout=PAGE_TIMEOUT)

    # Colour by a column of hostile values: the legend shows them as text.
    choose_option(tab, "Colour by", "venue")
    tab.page.wait_for_function(
        "() => document.querySelectorAll('.legendtext').length > 3", timeout=PAGE_TIMEOUT)
    tab.settle()
    legend = tab.page.evaluate(
        "() => Array.from(document.querySelectorAll('.legendtext')).map(e => e.textContent)"
        ".join('\\n')")
    assert shown(PAYLOADS["script"], legend), legend[:500]
    assert_inert(tab)


# --------------------------------------------------------------------------- other pages


# The map among the page's plots (a drill-down page also has a bar chart): the plot drawn
# with scattergl, or scatter (SVG) when small. Points are found by their customdata (a row
# of that map) and hovered by their trace and index (SVG markers tie at coordinates).
MAP_POINT_JS = """(row) => {
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  const k = plots.findIndex(gd => gd._fullData && gd._fullData.some(t => t.type === 'scattergl'
                                                                  || t.type === 'scatter'));
  if (k < 0) return null;
  const gd = plots[k];
  for (const t of gd._fullData) {
    if (SPECIAL.includes(t.name) || !t.customdata) continue;
    for (let i = 0; i < t._length; i++) {
      if (Number(t.customdata[i]) === row) return {plot: k, curve: t.index, point: i};
    }
  }
  return null;
}""".replace("SPECIAL", json.dumps(SPECIAL_TRACES))
MAP_HOVER_JS = """(p) => {
  const gd = document.querySelectorAll('.js-plotly-plot')[p.plot];
  window.Plotly.Fx.hover(gd, [{curveNumber: p.curve, pointNumber: p.point}]);
}"""


def hover_map_point(tab: Tab, row: int) -> str | None:
    """The hover label of the map point whose customdata is ``row`` (None: not drawn)."""
    point = tab.page.evaluate(MAP_POINT_JS, row)
    if point is None:
        return None
    tab.page.mouse.move(2, 2)
    tab.page.evaluate("() => document.querySelectorAll('.js-plotly-plot').forEach("
                      "gd => window.Plotly.Fx.unhover(gd))")
    tab.page.wait_for_function(f"() => ({HOVER_TEXT_JS})().length === 0", timeout=10_000)
    tab.page.evaluate(MAP_HOVER_JS, point)
    tab.page.wait_for_function(f"() => ({HOVER_TEXT_JS})().length > 0", timeout=10_000)
    return tab.page.evaluate(HOVER_TEXT_JS)


def hover_hostile_points(tab: Tab, docs, rows: list[int] | None = None) -> int:
    """Hover each hostile paper drawn on the page's map; its title must show as text.

    ``rows``: the root-map rows the page's map draws (a drill-down draws one topic's
    papers, with their rows in the whole map as customdata); None for every paper."""
    hovered = 0
    for paper_id in HOSTILE_IDS:
        row = row_of(docs, paper_id)
        if rows is not None and row not in rows:
            continue
        hover = hover_map_point(tab, row)
        if hover is None:
            continue
        assert shown(docs["title"].iat[row], hover), (paper_id, hover[:200])
        hovered += 1
    return hovered


def no_exception_shown(tab: Tab) -> None:
    assert tab.page.locator("[data-testid='stException']").count() == 0, body(tab)[:2000]


def test_drill_down_page(tab, docs):
    theme = int(docs.loc[docs["id"] == "hostile-script", "theme"].iloc[0])
    open_page(tab, f"/Drill_down?drill=theme:{theme}", min_points=1)
    tab.page.get_by_text("Its papers", exact=False).first.wait_for(timeout=PAGE_TIMEOUT)
    tab.page.get_by_text("Representative papers", exact=False).first.wait_for()
    tab.settle()
    no_exception_shown(tab)
    rows = docs.index[docs["theme"] == theme].tolist()  # the topic's papers
    in_theme = sum(row_of(docs, i) in rows for i in HOSTILE_IDS)
    assert hover_hostile_points(tab, docs, rows) == in_theme > 0
    assert_inert(tab)


def test_reading_list_page(tab, docs):
    open_page(tab, "/Reading_list", min_points=1)
    tab.page.get_by_text("Listed papers", exact=False).first.wait_for(timeout=PAGE_TIMEOUT)
    tab.page.get_by_text("Papers like these", exact=False).first.wait_for(timeout=PAGE_TIMEOUT)
    tab.settle()
    no_exception_shown(tab)
    assert f"{len(HOSTILE_IDS)} papers listed" in body(tab)
    assert hover_hostile_points(tab, docs) == len(HOSTILE_IDS)
    assert_inert(tab)


@pytest.mark.parametrize(("path", "heading"), [
    ("/Topics", "All topics"),
    ("/Themes_over_time", "Themes over time"),
    ("/Compare_maps", "Compare two maps"),
])
def test_other_pages_run_nothing(tab, path, heading):
    tab.page.goto(tab.base_url + path)
    tab.page.get_by_text(heading, exact=False).first.wait_for(timeout=PAGE_TIMEOUT)
    tab.settle(1500)
    no_exception_shown(tab)
    assert_inert(tab)


def test_llm_names_show_as_text_on_every_page(tab, hostile_maps):
    """Issue 14: a name with markup or script shows as its characters and runs nothing
    (the tab fixture checks nothing ran, on each page, as it closes)."""
    nodes = load_map(hostile_maps).clusters
    names = set(nodes["llm_label"])
    open_page(tab, min_points=1)
    tab.page.wait_for_function(
        "() => document.querySelectorAll('.st-key-map_chart .tm-label').length > 0",
        timeout=PAGE_TIMEOUT)
    drawn = tab.page.evaluate("() => Array.from(document.querySelectorAll("
                              "'.st-key-map_chart .tm-label')).filter(e => !e.hidden)"
                              ".map(e => [e.textContent, e.children.length])")
    assert drawn and all(kids == 0 for _, kids in drawn)  # text only, no element inside
    assert all(any(key(text, 12) == key(n, 12) for n in names) for text, _ in drawn), drawn
    rows = tab.page.locator(".st-key-view_tree .row .name").all_inner_texts()
    assert rows and all(any(key(r, 12) == key(n, 12) for n in names) for r in rows), rows
    assert_inert(tab)
    theme = nodes[nodes["level"] == "theme"].iloc[0]
    open_page(tab, f"/Drill_down?drill=theme:{int(theme['id'])}", min_points=1)
    tab.page.get_by_text("offline name", exact=False).first.wait_for(timeout=PAGE_TIMEOUT)
    tab.settle()
    assert shown(theme["llm_label"], body(tab)) and shown(theme["label"], body(tab))
    no_exception_shown(tab)
    assert_inert(tab)
    tab.page.goto(tab.base_url + "/Topics")
    tab.page.get_by_text("All topics", exact=False).first.wait_for(timeout=PAGE_TIMEOUT)
    tab.settle(1500)
    treemap = tab.page.evaluate("() => Array.from(document.querySelectorAll("
                                "'.js-plotly-plot .slicetext')).map(e => e.textContent)"
                                ".join('\\n')")
    assert shown(theme["llm_label"], treemap), treemap[:300]
    no_exception_shown(tab)


# --------------------------------------------------------------------------- downloads


def formula(cell: str) -> bool:
    return cell.lstrip(" ").startswith(FORMULA_START) and not NUMBER.fullmatch(cell)


def download(tab: Tab, name: str, target: Path) -> Path:
    button = tab.page.get_by_role("button", name=re.compile(name))
    with tab.page.expect_download(timeout=PAGE_TIMEOUT) as event:
        button.first.click()
    event.value.save_as(target)
    return target


def test_downloads_are_inert(tab, docs, tmp_path):
    open_page(tab, min_points=len(docs))
    tab.page.get_by_text("Take it away", exact=False).first.click()
    tab.settle()

    rows = list(csv.reader(io.StringIO(
        download(tab, r"^CSV \(", tmp_path / "view.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(docs) + 1
    bad = [cell for row in rows for cell in row if formula(cell)]
    assert bad == []
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)

    bib = download(tab, r"^BibTeX \(", tmp_path / "view.bib").read_text(encoding="utf-8")
    library = bibtexparser.parse_string(bib)
    assert library.failed_blocks == [] and len(library.entries) == len(docs)

    ris = download(tab, r"^RIS \(", tmp_path / "view.ris").read_text(encoding="utf-8")
    assert len(rispy.loads(ris)) == len(docs)

    html_path = download(tab, r"Interactive map \(HTML\)", tmp_path / "map.html")
    assert "<script>window.__pwned" not in html_path.read_text(encoding="utf-8")
    assert_inert(tab)

    offline = Tab(tab.page.context.browser, "file://")
    try:
        offline.page.goto(html_path.as_uri())
        offline.page.wait_for_function(f"() => ({COUNT_JS})() === {len(docs)}",
                                       timeout=PAGE_TIMEOUT)
        for paper_id in HOSTILE_IDS:
            row = row_of(docs, paper_id)
            assert shown(docs["title"].iat[row], offline.hover_row(row)), paper_id
        flag = offline.page.evaluate(f"() => window.{FLAG}")
        assert flag is None, f"payload {flag!r} ran in the exported HTML"
        assert offline.dialogs == []
        assert [u for u in offline.requests if not u.startswith(("file:", "data:", "blob:"))] \
            == []
    finally:
        offline.close()
