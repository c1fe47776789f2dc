"""The map (挂图作战): as-of site tables, server-side clusters, the Folium map and its endpoints."""
