"""Kontur CMDB: the source of truth of the regional healthcare contour."""
