"""What the dashboard's pages share, one concern a module.

The entry (``dashboard.py``) opens the map once per run (``ui.context``) and runs
the page chosen in its registry; pages lay out widgets over these helpers and
import nothing else of the project.

Streamlit pieces:
- ``ui.context``      the open map (``MapContext``): opened by the entry, read by pages;
                      the map picker; errors shown on the page
- ``ui.nav``          the page files, for links and switches between pages
- ``ui.sidebar``      the map page's filters, colours, names on the map; the overview of
                      big views
- ``ui.explore``      the map page's fragment: filters and all that follows them (counts,
                      dimming, topic tree, selection, downloads) rerun alone
- ``ui.zoomlabels``   the browser-side pieces as components (no iframe): names that follow
                      the zoom and dimming on a chart (``static/zoomlabels.js``), the topic
                      tree (``static/topictree.js``)
- ``ui.paper``        the paper panel, reading-list buttons, what a click on the map does
- ``ui.search``       semantic search results and their side list
- ``ui.tables``       tables of papers and topics (text shown as text)
- ``ui.exports``      CSV / BibTeX / RIS / standalone-HTML downloads
- ``ui.drill_panels`` the drill-down topic, breadcrumb, name and provenance, sub-topics,
                      why-this-name, representatives, re-mapping on request
- ``ui.reading``, ``ui.analysis``  the reading-list, trends and compare pages' data
- ``ui.loaders``      cached loaders shared by every session: maps, assets (per names:
                      LLM or offline), re-mapped topics

Plain functions (no streamlit):
- ``ui.escape``  the one escaping path for data text (HTML, Plotly, Markdown, plain)
- ``ui.view``    filtering, search, label positions, levels, overview samples
- ``ui.hierarchy`` the map's layers as nodes: names (LLM or offline), ancestry, children,
  members, visible counts, geometry
- ``ui.overlay`` what the browser's overlay needs (names of every layer, the reader's
  mask), and the same script for the offline HTML export
- ``ui.querymodel`` the search model, loaded once per process in the background
- ``ui.events``  what a chart or table selection event means
- ``ui.drill``   drill-down trails over the saved layers, sub-topics, re-mapping's cost
- ``ui.figures`` the map figure (colours, hover texts); ``ui.labels`` its name tags;
  ``ui.topic_figures``, ``ui.trends_figures``, ``ui.compare_figures``,
  ``ui.readinglist_figures``: other Plotly figures (testable with ``to_dict()``)
- ``ui.paths``, ``ui.state``  where maps live; the view in the URL and command line
"""
