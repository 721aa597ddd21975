"""Plain functions the dashboard's parts share (no streamlit, no plotly).

- ``escape``      the one escaping path for data text (HTML, Plotly, Markdown, plain)
- ``view``        filtering, search, label positions, levels, overview samples
- ``nodes``       the map's layers as nodes: names, ancestry, children, members, counts
- ``drill``       drill-down trails over the saved layers, sub-topics, re-mapping's cost
- ``events``      what a chart or table selection event means
- ``latex``       LaTeX in titles and abstracts as readable text
- ``paths``       where maps live
- ``querymodel``  the search model, loaded once per process in the background
"""
