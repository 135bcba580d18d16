"""The demo's simulated printers send each layer's part labels, as a printer that knows its build."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.layers.models import PrintJob
from apps.parts.models import LayerParts
from apps.parts.selectors import job_part_summaries

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_sends_part_labels_with_every_simulated_layer(live_server, printer, tmp_path):
    tokens = tmp_path / "printers.json"
    tokens.write_text(json.dumps({printer.machine.slug: printer.token}))
    call_command("simulate_printers", "--url", live_server.url, "--interval", "0", "--layers", "3",
                 "--jobs", "1", "--size", "128", "--tokens-file", str(tokens), stdout=StringIO())
    rows = LayerParts.objects.filter(layer__machine=printer.machine)
    assert rows.count() == 3 and not rows.filter(estimated=True).exists()
    assert all(row.extents for row in rows)
    summaries = job_part_summaries(job=PrintJob.objects.get(machine=printer.machine))
    assert summaries and all(s.layers == (0, 2) and s.verdict == "pass" for s in summaries)
