"""The one site query: which sites a request asks for (`sites`: the filters, parsed once for every door) and how a
database answers it (`sql`: conditions and the exports' and OGC's records, now or as of any time)."""

from recovery.query.sites import SiteQuery, parse_site_query

__all__ = ["SiteQuery", "parse_site_query"]
