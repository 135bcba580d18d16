"""Operator pages. Reads come from selectors, writes from services; views only glue them."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from apps.layers.files import machine_disk_usage
from apps.layers.imaging import ImageRejected, ImageTooLarge, read_image_array
from apps.layers.models import DefectKind, Layer, PrintJob
from apps.layers.selectors import job_list, layer_get, layer_list
from apps.machines.models import Machine
from apps.monitoring.selectors import watch_status
from apps.parts.selectors import job_part_summaries
from apps.records.models import likely_text
from apps.records.services import layer_regions_describe
from apps.scoring.models import ModelVersion
from apps.scoring.selectors import model_version_active
from apps.ui.analysis import data_uri, features_grid_png, images_analyze
from apps.ui.charts import timeline_svg
from apps.ui.selectors import QUEUE_MODES, fleet_cards, job_timeline, labeler_stats
from apps.ui.token_views import can_manage_tokens

NEIGHBOURS = 5
MAX_ANALYZE_FILES = 8


def _fleet_context() -> dict:
    cards, watch = fleet_cards(), watch_status()
    for card in cards:
        card.stalled = watch.stalled.get(card.machine.pk)
    return {"cards": cards, "watch": watch}


@login_required
def dashboard(request):
    return render(request, "ui/dashboard.html", _fleet_context())


@login_required
@require_GET
def dashboard_cards(request):
    return render(request, "ui/_fleet_cards.html", _fleet_context())


@login_required
def label_queue(request):
    context = {
        "modes": QUEUE_MODES,
        "machines": Machine.objects.order_by("name"),
        "stats": labeler_stats(user=request.user),
    }
    return render(request, "ui/label_queue.html", context)


@login_required
def machine_detail(request, slug: str):
    machine = get_object_or_404(Machine, slug=slug)
    jobs = job_list().filter(machine=machine).order_by("-started_at")
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    context = {
        "machine": machine,
        "page": page,
        "active": model_version_active(machine=machine),
        "can_manage_tokens": can_manage_tokens(request.user),
        "disk_usage": machine_disk_usage(machine=machine),
    }
    return render(request, "ui/machine_detail.html", context)


@login_required
def job_detail(request, job_id: int):
    job = get_object_or_404(PrintJob.objects.select_related("machine"), pk=job_id)
    layers = layer_list().filter(job=job).order_by("index")
    page = Paginator(layers, 60).get_page(request.GET.get("page"))
    context = {"job": job, "page": page, "chart": timeline_svg(job_timeline(job=job))}
    context["part_summaries"] = job_part_summaries(job=job)
    return render(request, "ui/job_detail.html", context)


@login_required
def layer_detail(request, layer_id: int):
    layer = layer_get(layer_id=layer_id)
    if layer is None:
        return render(request, "ui/not_found.html", status=404)
    score = layer.current_score
    strip = (
        Layer.objects.filter(
            job_id=layer.job_id,
            index__gte=layer.index - NEIGHBOURS,
            index__lte=layer.index + NEIGHBOURS,
        )
        .select_related("current_score")
        .order_by("index")
    )
    context = {
        "layer": layer,
        "score": score,
        "ratio": score.score / score.threshold if score and score.threshold else None,
        "labels": layer.labels.select_related("user")[:20],
        "strip": strip,
        "active": model_version_active(machine=layer.machine),
        "defect_kinds": DefectKind.choices,
        "region_rows": [
            {**r, "likely": likely_text(r["likely_kind"], r["likely_kind_probability"])}
            for r in (layer_regions_describe(layer=layer) if score is not None else [])
        ],
    }
    return render(request, "ui/layer_detail.html", context)


@login_required
def layer_features(request, layer_id: int):
    """The active model's 16 bottleneck maps for this layer, as one 4x4 PNG sprite."""
    layer = layer_get(layer_id=layer_id)
    if layer is None:
        raise Http404
    version = model_version_active(machine=layer.machine)
    if version is None or not version.artifact:
        raise Http404("This machine has no active trained model.")
    png = features_grid_png(version=version, image=read_image_array(layer.image))
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def analyze(request):
    versions = (
        ModelVersion.objects.select_related("machine")
        .filter(status=ModelVersion.Status.ACTIVE)
        .exclude(artifact="")  # a row without its trained file cannot score
        .order_by("machine__name")
    )
    context = {"versions": versions, "results": [], "error": None}
    if request.method == "POST":
        chosen = request.POST.get("version", "")
        version = versions.filter(pk=int(chosen)).first() if chosen.isdigit() else None  # "abc" was a 500
        files = request.FILES.getlist("images")[:MAX_ANALYZE_FILES]
        if version is None or not files:
            context["error"] = "Pick a model and at least one image."
        else:
            try:
                results = images_analyze(version=version, files=[(f.name, f.read()) for f in files])
            except (ImageRejected, ImageTooLarge) as error:
                context["error"] = str(error)
            else:
                context["version"] = version
                context["results"] = [
                    {
                        "analysis": r,
                        "input": data_uri(r.input),
                        "heatmap": data_uri(r.heatmap),
                        "reconstruction": data_uri(r.reconstruction),
                        "features": [data_uri(png) for png in r.features],
                    }
                    for r in results
                ]
    return render(request, "ui/analyze.html", context)
