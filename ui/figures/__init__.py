"""Plotly figure builders: they return figures and never import streamlit.

- ``map``          the map figure (colours, hover texts); ``nametags`` its name tags
- ``overlay``      what the browser's overlay needs, and the offline HTML export
- ``topics``, ``trends``, ``compare``, ``readinglist``  the other pages' figures
"""
