"""OGC API – Features at /ogc: one collection per site kind, the state as of any time, JSON and HTML."""

from recovery.ogc.views import bp

__all__ = ["bp"]
