"""Kontur collectors: SNMP, ICMP and agent polling into the status ledger (depends on cmdb only).

The package is reserved by the foundation so the import contracts hold from day one; its
pollers arrive with the collectors issue.
"""
