"""What a new user tripped on (issue 13), in headless Chromium: what only a browser shows.

One app on a 100-paper map (fake embedder, fake query model) with a long abstract
and LaTeX in a title and an abstract. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FakeEmbedder, make_corpus
from test_browser import ARTIFACTS, Tab, loads_nothing_external, opened, serve

from pipeline import BuildConfig, build, load_map
from ui.figures.map import map_figure, standalone_html

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 180_000  # ms: a shared test machine can be slow
LONG_ID, LATEX_ID = "robotics-5", "vision-6"
LATEX_TITLE = r"Sorting Scene Pixels in $\Theta(n \log n)$ time with \emph{depth} cameras"
LATEX_ABSTRACT = r"We prove \emph{tight} bounds of $O(n^2)$ for cameras with $\alpha \leq 1$. "

# Whether an element, or anything in it, shows less than its text (cut or ellipsis).
CLIPPED_JS = """(el) => [el, ...el.querySelectorAll('*')].some(
    e => e.clientWidth > 2 && e.scrollWidth > e.clientWidth + 1)"""
# Rectangles of every annotation (name tag) drawn on the plots of the page.
TAGS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot g.annotation'))
  .map(g => g.getBoundingClientRect()).filter(r => r.width > 0)
  .map(r => [r.left, r.top, r.right, r.bottom])"""


@pytest.fixture(scope="module")
def newuser_map(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("newuser")
    corpus = make_corpus()
    row = corpus.index[corpus["id"] == LONG_ID][0]
    corpus.loc[row, "abstract"] = " ".join(corpus.loc[row, "abstract"].split() * 12)[:3000]
    row = corpus.index[corpus["id"] == LATEX_ID][0]
    corpus.loc[row, "title"] = LATEX_TITLE
    corpus.loc[row, "abstract"] = LATEX_ABSTRACT + corpus.loc[row, "abstract"]
    corpus.to_csv(root / "papers.csv", index=False)
    out = root / "maps" / "newuser"
    build([root / "papers.csv"], out, BuildConfig(), embedder=FakeEmbedder(),
          cache_dir=root / "cache", show_progress=False)
    return out


@pytest.fixture(scope="module")
def server(newuser_map, tmp_path_factory, browser):
    yield from serve(newuser_map, tmp_path_factory.mktemp("cwd"), fake_search=True)


@pytest.fixture
def tab(browser, server):
    with opened(browser, server.url, check=loads_nothing_external) as page:
        yield page


def shot(tab: Tab, name: str) -> None:
    tab.shot(f"issue13-{name}")


def goto(tab: Tab, path: str, text: str) -> None:
    tab.page.goto(tab.base_url + path)
    tab.page.get_by_text(text, exact=False).first.wait_for(timeout=WAIT)
    tab.settle(1000)


def overlaps(rects: list[list[float]], slack: float = 1.0) -> list[tuple[int, int]]:
    return [(i, j) for i, a in enumerate(rects) for j, b in enumerate(rects[:i])
            if a[0] + slack < b[2] and b[0] + slack < a[2]
            and a[1] + slack < b[3] and b[1] + slack < a[3]]


def largest_theme(newuser_map: Path) -> int:
    themes = load_map(newuser_map).level("theme")
    return int(themes.sort_values(["size", "id"], ascending=[False, True])["id"].iloc[0])


# --------------------------------------------------------------------------- 1, 2, 8: drill-down


def test_1_drill_down_csv_names_each_paper_by_a_topic_that_holds_it(tab, newuser_map):
    theme = largest_theme(newuser_map)
    goto(tab, f"/Drill_down?drill=theme:{theme}", "Its papers")
    with tab.page.expect_download(timeout=WAIT) as event:
        tab.page.get_by_role("button", name=re.compile(r"^CSV \(")).last.click()
    rows = list(csv.DictReader(io.StringIO(
        Path(event.value.path()).read_text(encoding="utf-8-sig"))))
    topic_map = load_map(newuser_map)
    docs = topic_map.documents[topic_map.documents["theme"] == theme]
    names = dict(zip(topic_map.level("cluster")["id"], topic_map.level("cluster")["label"],
                     strict=True))
    # The topic of each paper is the finest topic that holds it (the map's own layers).
    topic_of = {str(i): names.get(int(c), "unclustered") if c >= 0 else "unclustered"
                for i, c in zip(docs["id"], docs["cluster"], strict=True)}
    assert len(rows) == len(topic_of)
    wrong = [(r["id"], r["cluster_label"]) for r in rows if r["cluster_label"] != topic_of[r["id"]]]
    assert wrong == [], wrong[:5]


def test_2_breadcrumb_is_visible_and_clickable(tab, newuser_map):
    theme = largest_theme(newuser_map)
    goto(tab, f"/Drill_down?drill=theme:{theme}", "Its papers")
    crumb = tab.page.get_by_role("button", name="Whole map")
    header = tab.page.locator("[data-testid='stHeader']").bounding_box()
    shot(tab, "2-breadcrumb")
    assert crumb.bounding_box()["y"] >= header["y"] + header["height"]
    crumb.click(timeout=20_000)  # Playwright clicks only what would receive the click
    tab.page.wait_for_function("() => !location.search.includes('drill=')", timeout=WAIT)
    tab.page.get_by_text("Pick a topic", exact=False).first.wait_for(timeout=WAIT)


# Rectangles of the names the overlay writes on the drill-down's map.
OVERLAY_TAGS_JS = """() => Array.from(document.querySelectorAll('.st-key-drill_map .tm-label'))
  .filter(e => !e.hidden).map(e => e.getBoundingClientRect())
  .map(r => [r.left, r.top, r.right, r.bottom])"""


def test_8_sub_map_names_do_not_overlap(tab, newuser_map):
    theme = largest_theme(newuser_map)
    goto(tab, f"/Drill_down?drill=theme:{theme}", "Its papers")
    tab.page.wait_for_function(f"() => ({OVERLAY_TAGS_JS})().length > 0", timeout=WAIT)
    shot(tab, "8-drill-labels")
    assert overlaps(tab.page.evaluate(OVERLAY_TAGS_JS)) == []


@pytest.mark.parametrize("seed", range(8))
def test_8_name_tags_do_not_overlap_at_the_drawn_size(browser, tmp_path, seed):
    """Crowded name tags on a map drawn 520 px high in a 700 px column (the drill-down's
    sub-map): no tag covers another once Plotly has drawn them."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 10, size=(14, 2))
    points = np.concatenate([c + rng.normal(0, 0.3, size=(20, 2)) for c in centres])
    view = pd.DataFrame({"x": points[:, 0], "y": points[:, 1],
                         "cluster": np.repeat(np.arange(14), 20), "theme": 0})
    labels = pd.DataFrame({"id": np.arange(14), "label": [
        "Summarization & Abstractive", "Dialogue & Intent", "Translation & Multilingual",
        "Question Answering", "Parsing & Syntax", "Entity Linking", "Sentiment & Opinion",
        "Speech & Audio", "Code Generation", "Retrieval & Ranking", "Bias & Fairness",
        "Reasoning & Math", "Vision & Language", "Prompting & Instructions"],
        "x": centres[:, 0], "y": centres[:, 1], "size": np.arange(14, 0, -1)})
    fig = map_figure(view, hover=np.array([""] * len(view), dtype=object), labels=labels,
                     label_size=12, height=520, cluster_parent={c: 0 for c in range(14)})
    html = tmp_path / "map.html"
    html.write_text(standalone_html(fig, title="labels"), encoding="utf-8")
    page = browser.new_page(viewport={"width": 700, "height": 600})
    try:
        page.goto(html.as_uri())
        page.wait_for_function(f"() => ({TAGS_JS})().length > 0", timeout=60_000)
        page.wait_for_timeout(300)
        if seed == 0:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "issue13-8-name-tags.png"))
        rects = page.evaluate(TAGS_JS)
        assert len(rects) >= 6  # most names are still written
        assert overlaps(rects) == []
    finally:
        page.close()


# --------------------------------------------------------------------------- 3: themes over time


def test_3_clicking_a_point_of_themes_over_time_shows_that_theme(tab, newuser_map):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    goto(tab, "/Themes_over_time", "click a point of the chart")
    # 100 papers over ten years: every year is too thin for a share at the rule's 20
    # papers (issue 20, item 7: the lines have gaps there); count years of 5 papers.
    tab.page.get_by_text("Rule for emerging and declining").click()
    year = tab.page.get_by_label("A year counts with at least … papers")
    year.fill("5")
    year.press("Enter")
    tab.page.wait_for_function("""() => { const gd = document.querySelector('.js-plotly-plot');
        return gd && gd._fullData && gd._fullData.length
          && Number.isFinite(gd._fullData[0].y[3]); }""", timeout=WAIT)
    for attempt in range(3):  # a click during a rerun can be lost: find the point again
        tab.settle(1500)
        point = tab.page.evaluate("""() => {
          const gd = document.querySelector('.js-plotly-plot'), t = gd._fullData[0];
          const fl = gd._fullLayout, box = gd.getBoundingClientRect(), i = 3;
          return {x: box.left + fl._size.l + fl.xaxis.d2p(t.x[i]),
                  y: box.top + fl._size.t + fl.yaxis.d2p(t.y[i])};
        }""")
        tab.page.mouse.click(point["x"], point["y"])
        try:
            tab.page.get_by_text(re.compile(r"^Map: ")).first.wait_for(timeout=30_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    tab.settle(1000)
    shot(tab, "3-themes-over-time")
    assert tab.page.get_by_role("button", name="Show all themes").count() == 1


# --------------------------------------------------------------------------- 4, 5: side panel


def test_4_paper_panel_buttons_whole_and_neighbours_in_sight(tab, newuser_map):
    docs = load_map(newuser_map).documents
    tab.page.set_viewport_size({"width": 1366, "height": 768})  # a common laptop screen
    goto(tab, f"/?paper={LONG_ID}", "Nearest papers")
    shot(tab, "4-paper-panel")
    close = tab.page.locator(".st-key-view_close_paper button").first
    add = tab.page.locator(".st-key-view_rl_add button").first
    for button in (close, add):
        assert not button.evaluate(CLIPPED_JS), button.inner_text()
    # The plus is a Material icon shipped with Streamlit, not a character fonts may lack.
    assert "＋" not in add.inner_text()
    assert add.locator("[data-testid='stIconMaterial']").count() == 1
    assert close.locator("[data-testid='stIconMaterial']").count() == 1
    # A long abstract does not push the neighbours out of sight.
    nearest = tab.page.get_by_text("Nearest papers", exact=True).first.bounding_box()
    assert nearest["y"] + nearest["height"] <= 768, nearest
    # After clicking a neighbour its title is in sight.
    first = tab.page.locator(".st-key-view_nb_0 button").first
    first.click()
    tab.page.wait_for_function("() => !location.search.includes('paper=" + LONG_ID + "')",
                               timeout=WAIT)
    tab.settle(1000)
    paper_id = re.search(r"paper=([^&]+)", tab.page.url).group(1)
    title = docs.loc[docs["id"] == paper_id, "title"].iloc[0]
    heading = tab.page.get_by_text(title, exact=True).first
    heading.wait_for(timeout=WAIT)
    box = heading.bounding_box()
    shot(tab, "4-after-neighbour")
    assert 0 <= box["y"] and box["y"] + box["height"] <= 768, box
    # The reading-list button says whether the paper is listed, whole.
    add = tab.page.locator(".st-key-view_rl_add button").first
    add.click()
    listed = tab.page.locator(".st-key-view_rl_remove button").first
    listed.wait_for(timeout=WAIT)
    assert not listed.evaluate(CLIPPED_JS), listed.inner_text()
    listed.click()  # leave the list empty for the other tests
    tab.page.locator(".st-key-view_rl_add button").first.wait_for(timeout=WAIT)


def test_5_search_hits_show_whole_titles_and_scores(tab):
    goto(tab, "/?q=robot%20gripper%20grasping%20torque", "papers for your search")
    tab.page.wait_for_function(
        "() => document.querySelectorAll(\"[class*='st-key-view_hit_'] button\").length === 10",
        timeout=WAIT)
    tab.settle(500)
    hits = tab.page.locator("[class*='st-key-view_hit_'] button")
    shot(tab, "5-search-hits")
    for i in range(hits.count()):
        hit = hits.nth(i)
        assert not hit.evaluate(CLIPPED_JS), hit.inner_text()
        # its rank, then its match (0-100) or, until the map's scale is made, its cosine
        assert re.match(rf"{i + 1}\. (\d{{1,3}}|0\.\d\d)\b", hit.inner_text()), hit.inner_text()


# --------------------------------------------------------------------------- 7: legend


def test_7_legend_covers_no_point_or_label(tab, newuser_map):
    tab.open(min_points=100)
    tab.page.locator("[data-testid='stSelectbox']").filter(has_text="Colour by").click()
    tab.page.get_by_role("option", name="venue", exact=True).click()
    tab.page.wait_for_function("() => document.querySelectorAll('.legendtext').length > 3",
                               timeout=WAIT)
    tab.settle(1000)
    shot(tab, "7-legend")
    boxes = tab.page.evaluate("""() => {
      const r = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
      return {legend: r(document.querySelector('.legend')),
              plot: r(document.querySelector('.js-plotly-plot .nsewdrag'))};
    }""")
    assert overlaps([boxes["plot"], boxes["legend"]]) == [], boxes
    assert tab.count() == 100


# --------------------------------------------------------------------------- 10: LaTeX


def test_10_latex_shows_as_readable_text(tab, newuser_map):
    docs = load_map(newuser_map).documents
    row = int(docs.index[docs["id"] == LATEX_ID][0])
    tab.open(f"/?paper={LATEX_ID}", min_points=100)
    tab.page.get_by_text("Nearest papers").first.wait_for(timeout=WAIT)
    hover = tab.hover_row(row)
    panel = tab.page.inner_text("[data-testid='stMain']")
    shot(tab, "10-latex")
    for text in (hover, panel):
        flat = " ".join(text.split())
        assert "Θ(n log n)" in flat, flat[:400]
        assert "\\Theta" not in flat and "\\emph" not in flat and "$" not in flat
    assert "O(n²)" in " ".join(panel.split()) and "α ≤ 1" in panel
    assert tab.count() == 100
