"""The DID model both sides of the store share: the data items and spec packs' catalogues, the NICIP
catalogue and DM01 tests, the measures, the rollup registry (each rollup's SQL: what the writer
builds and the readers read), the store's published layout, the submission deadlines and the users'
scopes. ingest/ (the writer) and queries/ (the readers) both import it; it imports neither.
"""
