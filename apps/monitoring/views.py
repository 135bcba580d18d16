"""/healthz, /readyz and /metrics: no login, nothing cached."""

import asyncio
import os

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from health_check.views import HealthCheckView
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from apps.monitoring.checks import readiness_checks
from apps.monitoring.metrics import LayerwatchCollector


@never_cache
def healthz(request):
    """Alive: answers without touching the database or any other service."""
    return HttpResponse("ok\n", content_type="text/plain")


class ReadyzView(HealthCheckView):
    """200 when every check passes, else 503 with each check's result, as JSON."""

    def get_checks(self):
        self.checks = readiness_checks()
        return super().get_checks()

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            self.results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        failed = [r for r in self.results if r.error]
        body = {
            "status": "failed" if failed else "ok",
            "checks": {repr(r.check): str(r.error) if r.error else "OK" for r in self.results},
            "failed": [repr(r.check) for r in failed],
        }
        return JsonResponse(body, status=503 if failed else 200)


@never_cache
def metrics(request):
    """django-prometheus's metrics (from every web process in multiprocess mode) and the product's."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(LayerwatchCollector())
    else:
        registry = REGISTRY  # the collector is registered there by MonitoringConfig.ready
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
