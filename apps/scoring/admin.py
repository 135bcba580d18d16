from django.contrib import admin, messages

from apps.scoring.models import LayerGroup, LayerScore, ModelVersion
from apps.scoring.thresholds import model_version_threshold_set
from apps.scoring.training import model_version_activate


class LayerGroupInline(admin.TabularInline):
    model = LayerGroup
    fields = ["index", "threshold", "threshold_source", "calibration_method", "n_train", "n_holdout"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    inlines = [LayerGroupInline]
    list_display = ["machine", "version", "scorer", "status", "threshold", "calibration_method", "created_at"]
    list_filter = ["machine", "status", "scorer"]
    readonly_fields = [
        "sha256",
        "training_set",
        "metrics",
        "head",
        "change_threshold",
        "change_baseline",
        "progress",
        "trained_at",
        "activated_at",
    ]
    actions = ["activate"]

    def save_model(self, request, obj, form, change):
        # A changed threshold goes through its service, which writes the audit log.
        if change and "threshold" in form.changed_data and obj.threshold is not None:
            threshold, obj.threshold = obj.threshold, form.initial.get("threshold")
            super().save_model(request, obj, form, change)
            model_version_threshold_set(version=obj, threshold=threshold, actor=request.user)
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description="Activate the selected version")
    def activate(self, request, queryset):
        for version in queryset:
            try:
                model_version_activate(version=version, actor=request.user)
            except ValueError as error:
                self.message_user(request, str(error), messages.ERROR)


@admin.register(LayerScore)
class LayerScoreAdmin(admin.ModelAdmin):
    list_display = ["layer", "scorer", "score", "threshold", "layer_group", "anomalous", "scored_at"]
    list_filter = ["anomalous", "scorer", "model_version__machine"]
    list_select_related = ["layer__job__machine", "layer__machine"]
    raw_id_fields = ["layer", "model_version"]
