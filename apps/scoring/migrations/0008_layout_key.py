# The change channel's trace of each layer holds its layout key (ml.change.layout_key): the parts
# signature and the block means. A signature stored before is shorter and never matches a key
# (ml.change.same_layout), so a job in progress starts the channel over once.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0007_alert_change_channel'),
    ]

    operations = [
        migrations.RenameField(
            model_name='layerscore',
            old_name='parts_signature',
            new_name='layout_key',
        ),
    ]
