"""GIS and office interop: reading and writing every common format, mapping columns, validating imports.

readers.py   a file (GeoJSON, GeoPackage, zipped Shapefile, CSV, Excel, KML) into a GeoDataFrame in EPSG:4326
archive.py   size limits and safe extraction of uploaded archives (no path escape, no zip bomb)
mapping.py   columns by their Chinese or English names, or an explicit mapping file, onto a kind's fields
validate.py  every row checked; a report of each rejected row and why
importer.py  the plan (preview) and its application through the ledger
export.py    the sites of any kind as of any time, with filters, in every format
cli.py       `recovery import` and `recovery export`
web.py       `/admin/import` (upload, preview, confirm) and `GET /api/v1/export`
"""
