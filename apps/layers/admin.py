from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from apps.layers.files import job_delete
from apps.layers.models import Label, LabelValue, Layer, PrintJob
from apps.layers.services import layers_label_bulk


def _thumbnail(layer: Layer, size: int = 96) -> str:
    url = reverse("api:layer-image", args=[layer.pk])
    return format_html('<img src="{}" width="{}" height="{}" style="object-fit:cover" alt="">', url, size, size)


@admin.register(PrintJob)
class PrintJobAdmin(admin.ModelAdmin):
    list_display = ["job_id", "machine", "status", "started_at", "last_layer_at"]
    list_filter = ["machine", "status"]
    search_fields = ["job_id", "name"]

    def delete_model(self, request, obj):
        job_delete(job=obj)  # removes the job's files too

    def delete_queryset(self, request, queryset):
        for job in queryset:
            job_delete(job=job)


class AnomalousFilter(admin.SimpleListFilter):
    title = "anomalous"
    parameter_name = "anomalous"

    def lookups(self, request, model_admin):
        return [("yes", "Anomalous"), ("no", "Normal")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(current_score__anomalous=self.value() == "yes")
        return queryset


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "thumbnail", "machine", "status", "score", "anomalous", "label", "received_at"]
    list_filter = ["machine", "job", "status", AnomalousFilter, "label"]
    list_select_related = ["machine", "job", "current_score"]
    search_fields = ["job__job_id", "sha256"]
    readonly_fields = ["sha256", "width", "height", "received_at", "current_score", "thumbnail"]
    actions = ["mark_good", "mark_defective"]
    show_full_result_count = False  # no COUNT(*) over 100k rows on every page

    @admin.display(description="image")
    def thumbnail(self, layer: Layer) -> str:
        return _thumbnail(layer, 64)

    @admin.display(description="score")
    def score(self, layer: Layer):
        return None if layer.current_score is None else f"{layer.current_score.score:.4g}"

    @admin.display(description="anomalous", boolean=True)
    def anomalous(self, layer: Layer):
        return None if layer.current_score is None else layer.current_score.anomalous

    def _label(self, request, queryset, value: str) -> None:
        count = layers_label_bulk(
            layer_ids=list(queryset.values_list("pk", flat=True)),
            value=value,
            user=request.user,
            source=Label.Source.ADMIN_BULK,
        )
        self.message_user(request, f"Labeled {count} layers {value}.")

    @admin.action(description="Label selected layers good")
    def mark_good(self, request, queryset):
        self._label(request, queryset, LabelValue.GOOD)

    @admin.action(description="Label selected layers defective")
    def mark_defective(self, request, queryset):
        self._label(request, queryset, LabelValue.DEFECTIVE)


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["layer", "thumbnail", "value", "source", "user", "created_at"]
    list_filter = ["value", "source", "layer__machine"]
    list_select_related = ["layer__job__machine", "layer__machine", "user"]
    raw_id_fields = ["layer"]

    @admin.display(description="image")
    def thumbnail(self, label: Label) -> str:
        return _thumbnail(label.layer)
