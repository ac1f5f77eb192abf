"""Prometheus metrics of the collector: states from the ledger, poll statistics.

``LedgerCollector`` is a custom collector: every scrape yields fresh metric families built from
the ledger's current states (``kontur_channel_up``, ``kontur_channel_on_backup``,
``kontur_device_up``, ``kontur_vipnet_node_up``, ``kontur_site_state``). Up gauges are 1 for up
or degraded, 0 for down, and absent while the state is unknown: a gap must look like a gap, not
like an outage or like health. ``CollectorMetrics`` keeps the poll counters and histograms and
listens to finished cycles. Both register in an injected registry; nothing is global.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, StateSetMetricFamily
from prometheus_client.registry import Collector as PromCollector

from cmdb.choices import State
from collectors.runner import Collector, CycleReport

_UP = {State.UP: 1.0, State.DEGRADED: 1.0, State.DOWN: 0.0}


class LedgerCollector(PromCollector):
    """Yields the current states of monitored objects on each scrape."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    def collect(self) -> Iterator[GaugeMetricFamily | StateSetMetricFamily]:
        ledger = self.collector.ledger
        targets = self.collector.targets
        vantage = ledger.vantage
        channel_up = GaugeMetricFamily(
            "kontur_channel_up",
            "Channel is up (1) or down (0) from this vantage; absent while unknown.",
            labels=["channel", "site", "role", "redundancy_group", "vantage"],
        )
        on_backup = GaugeMetricFamily(
            "kontur_channel_on_backup",
            "Site's redundancy group runs on a backup channel (1) or on its primary (0).",
            labels=["site", "redundancy_group", "active_channel", "vantage"],
        )
        device_up = GaugeMetricFamily(
            "kontur_device_up",
            "Device answers SNMP (1) or not (0); absent while unknown.",
            labels=["device", "site", "vantage"],
        )
        node_up = GaugeMetricFamily(
            "kontur_vipnet_node_up",
            "ViPNet node is up (1) or down (0); absent while unknown.",
            labels=["vipnet_id", "kind", "vantage"],
        )
        site_state = StateSetMetricFamily(
            "kontur_site_state",
            "Site state from its channels: up, degraded (on backup), down, unknown.",
            labels=["site", "vantage"],
        )
        if targets is not None:
            for ch in targets.channels:
                value = _UP.get(ledger.state_of("channel", ch.key))
                if value is not None:
                    channel_up.add_metric(
                        [ch.key, ch.site, ch.role, ch.group or "", vantage], value
                    )
            for dev in targets.devices:
                value = _UP.get(ledger.state_of("device", dev.name))
                if value is not None:
                    device_up.add_metric([dev.name, dev.site, vantage], value)
            for node in targets.nodes:
                value = _UP.get(ledger.state_of("vipnet_node", node.vipnet_id))
                if value is not None:
                    node_up.add_metric([node.vipnet_id, node.kind, vantage], value)
            for site in sorted({ch.site for ch in targets.channels}):
                current = ledger.state_of("site", site)
                site_state.add_metric([site, vantage], {s.value: s is current for s in State})
        if ledger.active_dc is not None:
            active = GaugeMetricFamily(
                "kontur_dc_active",
                "The DC answering at the regional service address (1 for the active one).",
                labels=["site", "role", "vantage"],
            )
            site, kind = ledger.active_dc
            active.add_metric([site, kind.removeprefix("dc_"), vantage], 1.0)
            yield active
        for (site, group), state in sorted(ledger.on_backup().items()):
            on_backup.add_metric(
                [site, group, state.active_channel or "", vantage], 1.0 if state.on_backup else 0.0
            )
        yield channel_up
        yield on_backup
        yield device_up
        yield node_up
        yield site_state


class CollectorMetrics:
    """Poll counters and histograms, fed by finished cycles."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.polls = Counter(
            "kontur_collector_polls_total", "Polls made, by kind.", ["kind"], registry=registry
        )
        self.errors = Counter(
            "kontur_collector_poll_errors_total",
            "Polls that failed, by kind and error.",
            ["kind", "error"],
            registry=registry,
        )
        self.duration = Histogram(
            "kontur_collector_poll_duration_seconds",
            "Duration of one poll, by kind.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.cycle = Histogram(
            "kontur_collector_cycle_duration_seconds",
            "Duration of a whole collection cycle.",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
            registry=registry,
        )
        self.transitions = Counter(
            "kontur_collector_transitions_total",
            "State transitions written to the ledger, by object kind and new state.",
            ["kind", "state"],
            registry=registry,
        )
        self.failovers = Counter(
            "kontur_collector_failovers_total",
            "Failover events, by kind.",
            ["kind"],
            registry=registry,
        )
        self.last_cycle = Gauge(
            "kontur_collector_last_cycle_timestamp_seconds",
            "When the last cycle finished (Unix time).",
            registry=registry,
        )

    def cycle_finished(self, report: CycleReport) -> None:
        """Account for one finished cycle."""
        for d in report.device_results:
            self.polls.labels("snmp").inc()
            self.duration.labels("snmp").observe(d.duration_s)
            if d.error:
                self.errors.labels("snmp", d.error).inc()
        for p in report.probe_results:
            self.polls.labels("icmp").inc()
            self.duration.labels("icmp").observe(p.duration_s)
            if p.error:
                self.errors.labels("icmp", p.error).inc()
        for tr in report.transitions:
            self.transitions.labels(tr.kind, tr.state.value).inc()
        for ev in report.failovers:
            self.failovers.labels(ev.kind).inc()
        self.cycle.observe(report.duration_s)
        self.last_cycle.set(report.started_at.timestamp() + report.duration_s)


def register_metrics(registry: CollectorRegistry, collector: Collector) -> CollectorMetrics:
    """Register the ledger collector and the poll metrics; the latter listen to cycles."""
    registry.register(LedgerCollector(collector))
    metrics = CollectorMetrics(registry)
    collector.listeners.append(metrics)
    return metrics
