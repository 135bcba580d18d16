from django.db import migrations


def create_default_rule(apps, schema_editor):
    rule_model = apps.get_model("parts", "PartVerdictRule")
    if not rule_model.objects.exists():
        rule_model.objects.create(
            fail_anomalous_layers=3, fail_region_px=2000, fail_kinds=[], review_anomalous_layers=1
        )


class Migration(migrations.Migration):
    dependencies = [("parts", "0001_layer_parts_and_verdict_rule")]

    operations = [migrations.RunPython(create_default_rule, migrations.RunPython.noop)]
