import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.layers.models import Layer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_uploads_synthetic_jobs_over_http_for_each_printer(live_server, printer, other_printer, tmp_path):
    tokens = tmp_path / "printers.json"
    pairs = {printer.machine.slug: printer.token, other_printer.machine.slug: other_printer.token}
    tokens.write_text(json.dumps(pairs))
    out = StringIO()
    call_command("simulate_printers", "--url", live_server.url, "--interval", "0", "--layers", "4",
                 "--jobs", "1", "--size", "128", "--tokens-file", str(tokens), stdout=out)
    assert Layer.objects.filter(machine=printer.machine).count() == 4
    assert Layer.objects.filter(machine=other_printer.machine).count() == 4
    assert out.getvalue().count(": 202") == 8


def test_it_refuses_to_run_without_tokens(tmp_path):
    with pytest.raises(CommandError, match="demo_setup"):
        call_command("simulate_printers", "--tokens-file", str(tmp_path / "missing.json"))
    with pytest.raises(CommandError, match="SLUG=TOKEN"):
        call_command("simulate_printers", "--printer", "no-equals-sign")
