"""One writer per file format: every door that hands out a file (reports, exports, record downloads, the import's
rejects) writes it here.

- `recovery.writers.csv`: UTF-8 with a BOM, every cell through the one formula rule (`recovery.spreadsheet`).
- `recovery.writers.xlsx`: a streaming SpreadsheetML writer; text is never a formula, numbers stay numbers,
  instants are dates in the zone's local time.
- `recovery.writers.geojson`: RFC 7946 FeatureCollections, streamed feature by feature.
"""
