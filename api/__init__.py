"""Kontur API: REST and the Russian web UI over the CMDB (depends on cmdb only).

The package is reserved by the foundation so the import contracts hold from day one; its
routes arrive with the API issue.
"""
