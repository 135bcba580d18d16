import hashlib

import pytest
from django.core.management import CommandError, call_command

from apps.layers.models import Layer, PrintJob
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


def test_it_reports_files_for_a_finished_job_instead_of_stopping(printer, tmp_path):
    PrintJob.objects.create(machine=printer.machine, job_id="archive", status=PrintJob.Status.FINISHED)
    (tmp_path / "0.png").write_bytes(image_bytes())
    with pytest.raises(CommandError, match="1 files could not be imported"):
        call_command("import_layers", printer.machine.slug, str(tmp_path), "--job", "archive", "--no-score")
    assert not Layer.objects.exists()


def test_it_reports_a_file_that_conflicts_with_a_stored_layer(printer, tmp_path):
    (tmp_path / "0.png").write_bytes(image_bytes(seed=1))
    call_command("import_layers", printer.machine.slug, str(tmp_path), "--job", "archive", "--no-score")
    (tmp_path / "0.png").write_bytes(image_bytes(seed=2))
    with pytest.raises(CommandError, match="1 files could not be imported"):
        call_command("import_layers", printer.machine.slug, str(tmp_path), "--job", "archive", "--no-score")
    assert Layer.objects.get().sha256 == hashlib.sha256(image_bytes(seed=1)).hexdigest()
