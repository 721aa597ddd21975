"""What the dashboard's pages share, one concern a module.

The entry (``dashboard.py``) opens the map once per run (``ui.context``) and runs
the page chosen in its registry; pages lay out widgets over these helpers and
import nothing else of the project.

Streamlit pieces:
- ``ui.context``      the open map (``MapContext``): opened by the entry, read by pages;
                      the map picker; errors shown on the page
- ``ui.nav``          the page files, for links and switches between pages
- ``ui.sidebar``      the map page's filters, colours, labels; the overview of big views
- ``ui.paper``        the paper panel, reading-list buttons, what a click on the map does
- ``ui.search``       semantic search results and their side list
- ``ui.tables``       tables of papers and topics (text shown as text)
- ``ui.exports``      CSV / BibTeX / RIS / standalone-HTML downloads
- ``ui.drill_panels`` the drill-down trail, breadcrumb, why-this-name, representatives
- ``ui.reading``, ``ui.analysis``  the reading-list, trends and compare pages' data
- ``ui.loaders``      cached loaders shared by every session: maps, assets, query model,
                      drill-down sub-maps

Plain functions (no streamlit):
- ``ui.escape``  the one escaping path for data text (HTML, Plotly, Markdown, plain)
- ``ui.view``    filtering, search, label positions, levels, overview samples
- ``ui.events``  what a chart or table selection event means
- ``ui.drill``   drill-down trails and the groups one can drill into
- ``ui.figures`` the map figure (colours, hover texts); ``ui.labels`` its name tags;
  ``ui.topic_figures``, ``ui.trends_figures``, ``ui.compare_figures``,
  ``ui.readinglist_figures``: other Plotly figures (testable with ``to_dict()``)
- ``ui.paths``, ``ui.state``  where maps live; the view in the URL and command line
"""
