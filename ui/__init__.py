"""What the dashboard's pages share.

- ``ui.escape``   the one escaping path for data text (HTML, Plotly, Markdown, plain)
- ``ui.paths``    where maps live: the project's ``maps/`` folder, names checked
- ``ui.loaders``  cached loaders shared by every session: ``load_topic_map(path)``,
                  the query embedder, hover texts, nearest neighbours, drill-down sub-maps
- ``ui.view``     filtering, text and semantic search over a map (plain functions)
- ``ui.figures``  Plotly figure builders (no streamlit import; testable with ``to_dict()``)
- ``ui.state``    the view in the URL (``st.query_params``) and the command line
- ``ui.widgets``  Streamlit pieces reused by pages: map picker, filters, paper panel

Pages added later (reading list, trends, compare) should open the current map
with ``ui.state.current_map_path()`` and ``ui.loaders.load_topic_map(path)``.
"""
