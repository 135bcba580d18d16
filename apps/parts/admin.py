from django.contrib import admin

from apps.parts.models import LayerParts, PartTrack, PartVerdictRule


@admin.register(PartVerdictRule)
class PartVerdictRuleAdmin(admin.ModelAdmin):
    list_display = [
        "id", "review_anomalous_layers", "fail_anomalous_layers", "fail_region_px", "fail_kinds", "updated_at"
    ]


@admin.register(LayerParts)
class LayerPartsAdmin(admin.ModelAdmin):
    list_display = ["layer", "estimated", "created_at"]
    list_filter = ["estimated"]
    readonly_fields = ["layer", "estimated", "labels", "extents", "created_at"]
    list_select_related = ["layer", "layer__job", "layer__machine"]


@admin.register(PartTrack)
class PartTrackAdmin(admin.ModelAdmin):
    list_display = ["job", "part_id", "layer_count"]
    readonly_fields = ["job", "part_id", "layer_count"]
