import json
import shutil

import pytest
from django.core.management import CommandError, call_command

from apps.layers.models import Label, Layer
from apps.machines.models import Machine
from apps.machines.selectors import machine_for_token
from apps.scoring.models import ModelVersion

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_prints_the_new_machines_token_alone_on_the_last_line():
    output = run("create_machine", "Printer Z")
    token = output.strip().splitlines()[-1]
    assert machine_for_token(token=token) == Machine.objects.get(name="Printer Z")
    assert token not in Machine.objects.get().token_hash


def test_it_refuses_a_duplicate_machine_name():
    run("create_machine", "Printer Z")
    with pytest.raises(CommandError, match="already exists"):
        run("create_machine", "printer z")


def test_it_imports_a_folder_resumably_with_labels(printer, pblm_dir):
    good = pblm_dir / "good"
    partial = pblm_dir / "partial"
    partial.mkdir()
    for path in sorted(good.iterdir())[:5]:
        shutil.copy(path, partial / path.name)
    run("import_layers", printer.machine.slug, str(partial), "--job", "archive", "--label", "good", "--no-score")
    assert Layer.objects.count() == 5
    for path in sorted(good.iterdir())[5:]:
        shutil.copy(path, partial / path.name)
    args = ("import_layers", printer.machine.slug, str(partial), "--job", "archive", "--label", "good", "--no-score")
    output = run(*args)
    assert "7 imported, 5 already there" in output
    assert Layer.objects.count() == 12
    assert Label.objects.filter(value="good").count() == 12
    assert sorted(Layer.objects.values_list("index", flat=True)) == list(range(12))


def test_it_reports_files_it_could_not_import(printer, tmp_path):
    (tmp_path / "0.png").write_bytes(b"not an image")
    with pytest.raises(CommandError, match="1 files could not be imported"):
        run("import_layers", printer.machine.slug, str(tmp_path), "--no-score")


def test_it_refuses_an_unknown_machine_or_folder(printer, tmp_path):
    with pytest.raises(CommandError, match="No machine"):
        run("import_layers", "nope", str(tmp_path))
    with pytest.raises(CommandError, match="not a folder"):
        run("import_layers", printer.machine.slug, str(tmp_path / "missing"))


def test_it_trains_activates_and_evaluates_a_model_on_the_pblm_sample(printer, pblm_dir):
    run("import_layers", printer.machine.slug, str(pblm_dir / "good"), "--label", "good", "--no-score")
    # The commands work alike for every scorer; the seed trains and scores fastest.
    output = run("train_model", printer.machine.slug, "--epochs", "1", "--scorer", "seed")
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.ACTIVE and "active" in output
    report = json.loads(run("evaluate_model", printer.machine.slug, "--good", str(pblm_dir / "good"),
                            "--defective", str(pblm_dir / "defective"), "--json"))
    assert report["tp"] + report["fn"] == 36 and report["tn"] + report["fp"] == 12
    assert 0.0 <= report["auroc"] <= 1.0
    text = run("evaluate_model", printer.machine.slug, "--good", str(pblm_dir / "good"),
               "--defective", str(pblm_dir / "defective"))
    assert "F1" in text or "f1" in text


def test_it_refuses_to_evaluate_without_an_active_model(printer, pblm_dir):
    with pytest.raises(CommandError, match="no active model"):
        run("evaluate_model", printer.machine.slug, "--good", str(pblm_dir / "good"),
            "--defective", str(pblm_dir / "defective"))


def test_it_refuses_bad_training_arguments(printer):
    with pytest.raises(CommandError):
        run("train_model", printer.machine.slug, "--epochs", "0")
    with pytest.raises(CommandError, match="no layers"):
        run("train_model", printer.machine.slug, "--epochs", "1")
    versions = ModelVersion.objects.count()
    with pytest.raises(CommandError, match="multiple of 256"):
        run("train_model", printer.machine.slug, "--epochs", "1", "--resolution", "300")
    with pytest.raises(CommandError, match="unknown seed config keys"):
        run("train_model", printer.machine.slug, "--epochs", "1", "--scorer", "seed", "--resolution", "512")
    assert ModelVersion.objects.count() == versions  # refused before a version is made
