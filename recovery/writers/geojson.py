"""The GeoJSON writer: RFC 7946 FeatureCollections in CRS84 (longitude, latitude), no `crs` member, ids as
strings, written as compact UTF-8 JSON one feature at a time, so a collection of any size streams in flat
memory."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

MEDIA_TYPE = "application/geo+json"
HEAD = '{"type":"FeatureCollection","features":['
TAIL = "]}\n"


def feature(feature_id: str, geometry: Any, properties: Mapping[str, Any]) -> str:
    """One Feature as compact JSON; `geometry` is a GeoJSON mapping or anything with `__geo_interface__`
    (a shapely geometry)."""
    geometry = getattr(geometry, "__geo_interface__", geometry)
    doc = {"type": "Feature", "id": feature_id, "geometry": geometry, "properties": dict(properties)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class Collection:
    """A FeatureCollection pushed feature by feature to `write` (a callable taking text): for a caller that
    produces features while something else consumes its rows (a publication writes the ledger and the GeoJSON
    in one pass over the sites)."""

    def __init__(self, write: Callable[[str], Any]) -> None:
        self.write = write
        self.count = 0
        write(HEAD)

    def add(self, written: str) -> None:
        """A feature written by `feature`."""
        self.write(("," if self.count else "") + written)
        self.count += 1

    def close(self) -> None:
        self.write(TAIL)


def chunks(features: Iterable[str]) -> Iterator[str]:
    """A FeatureCollection of features written by `feature`, as a stream of text."""
    parts: list[str] = []
    collection = Collection(parts.append)
    for written in features:
        collection.add(written)
        yield from parts
        parts.clear()
    collection.close()
    yield from parts
