"""The product's Prometheus metrics, read from the database and Redis at scrape time.

Scoring, alerting and notifying happen in worker processes; counting their rows when /metrics is
scraped shows every process's work, with no shared metrics folder between web and workers.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from apps.alerts.models import Alert, Delivery, DeliveryAttempt, Severity
from apps.layers.models import Layer
from apps.monitoring.heartbeats import workers_alive
from apps.monitoring.models import SYSTEM_SEVERITY, SystemAlert
from apps.monitoring.selectors import scoring_backlog
from apps.scoring.models import LayerScore

logger = logging.getLogger(__name__)

QUEUES = ("scoring", "training", "default")
# kombu's Redis transport keeps a queue's prioritised messages in lists named queue + sep + step.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


def queue_depths() -> dict[str, int] | None:
    """Messages waiting per Celery queue, or None where the broker is not Redis."""
    url = settings.CELERY_BROKER_URL if hasattr(settings, "CELERY_BROKER_URL") else ""
    if not str(url).startswith(("redis://", "rediss://")):
        return None
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    try:
        pipe = client.pipeline()
        for queue in QUEUES:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = pipe.execute()
    finally:
        client.close()
    n = len(_PRIORITY_SUFFIXES)
    return {queue: sum(lengths[i * n : (i + 1) * n]) for i, queue in enumerate(QUEUES)}


def upload_to_scored() -> tuple[list[tuple[str, int]], float]:
    """Cumulative buckets and the sum of seconds from upload to a layer's first score."""
    first = LayerScore.objects.filter(layer=OuterRef("pk")).order_by("scored_at").values("scored_at")[:1]
    layers = Layer.objects.filter(current_score__isnull=False).annotate(
        latency=ExpressionWrapper(Subquery(first) - F("received_at"), output_field=DurationField())
    )
    counts = layers.aggregate(
        count=Count("pk"),
        total=Sum("latency"),
        **{f"le_{i}": Count("pk", filter=Q(latency__lte=timedelta(seconds=b))) for i, b in enumerate(LATENCY_BUCKETS)},
    )
    buckets = [(str(float(b)), counts[f"le_{i}"]) for i, b in enumerate(LATENCY_BUCKETS)]
    buckets.append(("+Inf", counts["count"]))
    total = counts["total"].total_seconds() if counts["total"] else 0.0
    return buckets, total


class LayerwatchCollector(Collector):
    def describe(self):
        return []  # registering must not query the database (it may not exist yet)

    def collect(self):
        for part in (self._queues, self._latency, self._counts, self._watching):
            try:
                yield from part()
            except Exception:  # one unreachable service must not hide the other metrics
                logger.exception("Metrics from %s not collected", part.__name__)

    def _queues(self):
        depths = queue_depths()
        if depths is not None:
            depth = GaugeMetricFamily("layerwatch_queue_depth", "Tasks waiting in a Celery queue.", labels=["queue"])
            for queue, n in depths.items():
                depth.add_metric([queue], n)
            yield depth
        backlog = scoring_backlog()
        yield GaugeMetricFamily("layerwatch_layers_queued", "Layers waiting for a score.", value=backlog.waiting)
        yield GaugeMetricFamily(
            "layerwatch_oldest_queued_layer_age_seconds",
            "Age of the oldest layer waiting for a score.",
            value=backlog.age(),
        )

    def _latency(self):
        buckets, total = upload_to_scored()
        histogram = HistogramMetricFamily(
            "layerwatch_upload_to_scored_seconds", "Seconds from a layer's upload to its first score."
        )
        histogram.add_metric([], buckets, total)
        yield histogram

    def _counts(self):
        scored = CounterMetricFamily("layerwatch_layers_scored", "Layers scored, per machine.", labels=["machine"])
        rows = Layer.objects.filter(current_score__isnull=False).values_list("machine__slug").annotate(n=Count("pk"))
        for slug, n in rows:
            scored.add_metric([slug], n)
        yield scored
        opened = CounterMetricFamily(
            "layerwatch_alerts_opened", "Alerts opened, by severity and kind.", labels=["severity", "kind"]
        )
        counts = {(severity, "defect"): 0 for severity in Severity.values}
        counts.update(((s, "defect"), n) for s, n in Alert.objects.values_list("severity").annotate(n=Count("pk")))
        counts.update({(SYSTEM_SEVERITY[kind], kind): 0 for kind in SystemAlert.Kind.values})
        system = SystemAlert.objects.values_list("severity", "kind").annotate(n=Count("pk"))
        counts.update(((s, k), n) for s, k, n in system)
        for (severity, kind), n in sorted(counts.items()):
            opened.add_metric([severity, kind], n)
        yield opened
        failures = CounterMetricFamily(
            "layerwatch_notification_failures",
            "Notification attempts that failed, by channel type.",
            labels=["channel"],
        )
        failed = dict(DeliveryAttempt.objects.filter(ok=False).values_list("delivery__kind").annotate(n=Count("pk")))
        for kind in Delivery.Kind.values:
            failures.add_metric([kind], failed.get(kind, 0))
        yield failures

    def _watching(self):
        yield GaugeMetricFamily(
            "layerwatch_scoring_workers_alive", "Scoring workers with a recent heartbeat.", value=len(workers_alive())
        )
        open_alerts = GaugeMetricFamily("layerwatch_system_alerts_open", "Open system alerts.", labels=["kind"])
        counts = dict(SystemAlert.objects.filter(status="open").values_list("kind").annotate(n=Count("pk")))
        for kind in SystemAlert.Kind.values:
            open_alerts.add_metric([kind], counts.get(kind, 0))
        yield open_alerts
