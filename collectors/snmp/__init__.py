"""SNMP layer of the collectors: a fast v2c path (GET, GETBULK walks), pysnmp for v3, plans as data.

Modules: :mod:`~collectors.snmp.errors` (the exception tree), :mod:`~collectors.snmp.types`
(values, targets, results), :mod:`~collectors.snmp.ber` (the codec),
:mod:`~collectors.snmp.credentials` (named credential profiles),
:mod:`~collectors.snmp.pysnmp_adapter` (the only module importing pysnmp),
:mod:`~collectors.snmp.client` (:class:`FastSnmpClient`), :mod:`~collectors.snmp.profiles`
(poll plans per platform) and :mod:`~collectors.snmp.poller` (:class:`SnmpPoller`).
"""
