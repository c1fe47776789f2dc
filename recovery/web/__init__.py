"""The web layer: thin views over the domain functions, one JSON error shape, one HTML error page."""
