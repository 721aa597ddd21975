"""The dashboard's Streamlit parts (everything here may import ``streamlit``).

- ``context``      the open map (``MapContext``), opened once per run by the entry; the map
                   picker; the names switch; errors shown on the page
- ``state``        the view in the URL and the command line; session keys
- ``loaders``      cached loaders shared by every session: maps, assets, re-mapped topics
- ``nav``          the page files, for links and switches between pages
- ``sidebar``      the map page's filters, colours, names on the map; big-map overview
- ``explore``      the map page's fragment: filters and all that follows them
- ``components``   browser-side pieces (no iframe): names that follow the zoom, the topic tree
- ``paper``        the paper panel, reading-list buttons, what a click on the map does
- ``search``       search results and their side list
- ``tables``       tables of papers and topics (text shown as text)
- ``exports``      CSV / BibTeX / RIS / standalone-HTML downloads
- ``drill_panels`` the drill-down page's panels
- ``reading``, ``analysis``  the reading-list, trends and compare pages' data
"""
