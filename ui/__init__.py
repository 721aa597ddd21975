"""What the dashboard's pages share, one concern a module, in three packages.

The entry (``dashboard.py``) opens the map once per run (``ui.app.context``) and runs
the page chosen in its registry; pages lay out widgets over these helpers and import
nothing else of the project.

- ``ui.app``      the Streamlit parts: the open map and its context, navigation, the
                  sidebar, the map page's fragment, components, the paper panel, search,
                  tables, downloads, drill-down panels, the cached loaders, the URL state
- ``ui.figures``  Plotly figure builders (no streamlit; testable with ``fig.to_dict()``):
                  the map and its name tags, the browser overlay and the HTML export,
                  treemaps, trends, comparisons, the reading list
- ``ui.core``     plain functions (no streamlit, no plotly): escaping data text, filtering
                  and search, the map's nodes and their names, drill-down trails, what a
                  selection event means, LaTeX to text, where maps live, the search model

Imports go one way: ``app`` -> ``figures`` -> ``core``.
"""
