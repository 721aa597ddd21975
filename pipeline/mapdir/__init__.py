"""The ``save`` step and the on-disk map: Parquet tables, ``.npy`` vectors, a versioned
manifest with checksums, written atomically (no pickle).

- ``store``     ``TopicMap``, ``write_map``, ``load_map``, the table columns and level names
- ``manifest``  the manifest: format, schema version, hashes
- ``atomic``    files and folders that appear whole or not at all
"""
