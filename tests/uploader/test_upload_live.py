"""layerwatch-upload against a real running layerwatch (pytest-django's live_server)."""

import hashlib
import os
import shutil
from datetime import UTC, datetime

import pytest

from apps.layers.models import Layer, PrintJob
from apps.uploader.cli import main
from apps.uploader.spool import Spool
from tests.images import image_bytes
from tests.uploader.conftest import Forwarder, free_port, start_uploader, stop_uploader, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FAST = ["--settle", "0.2", "--poll", "0.1", "--max-backoff", "0.3"]


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "camera"
    path.mkdir()
    return path


def write_layers(job_folder, indexes, *, seed_offset=0) -> dict[int, bytes]:
    job_folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for index in indexes:
        written[index] = image_bytes(seed=index + seed_offset)
        (job_folder / f"layer_{index:05d}.png").write_bytes(written[index])
    return written


def stored(machine, job="build-7") -> dict[int, str]:
    return dict(Layer.objects.filter(machine=machine, job__job_id=job).values_list("index", "sha256"))


def upload_once(live_server, printer, folder, *extra) -> int:
    return main([str(folder), "--server", live_server.url, "--token", printer.token, "--once", *FAST, *extra])


def counts(folder) -> dict[str, int]:
    spool = Spool(folder / ".layerwatch-spool")
    try:
        return spool.counts()
    finally:
        spool.close()


def test_it_uploads_each_layer_of_a_job_folder_once(live_server, printer, folder):
    written = write_layers(folder / "build-7", range(4))
    assert upload_once(live_server, printer, folder) == 0
    assert stored(printer.machine) == {i: hashlib.sha256(data).hexdigest() for i, data in written.items()}
    layer = Layer.objects.get(index=2)
    mtime = os.stat(folder / "build-7" / "layer_00002.png").st_mtime
    assert abs(layer.captured_at - datetime.fromtimestamp(mtime, tz=UTC)).total_seconds() < 0.001
    assert upload_once(live_server, printer, folder) == 0
    assert Layer.objects.count() == 4 and counts(folder)["sent"] == 4
    assert not list((folder / ".layerwatch-spool" / "files").iterdir())  # copies go once the server has them


def test_it_spools_while_the_server_is_down_and_sends_each_layer_once_when_it_is_up(live_server, printer, folder):
    port = free_port()  # nothing listens here yet: the server is down
    process = start_uploader(str(folder), "--server", f"http://127.0.0.1:{port}", "--token", printer.token, *FAST)
    forwarder = None
    try:
        written = write_layers(folder / "build-7", range(3))
        wait_for(lambda: counts(folder)["pending"] == 3, what="three spooled files")
        (folder / "build-7" / "layer_00000.png").unlink()  # the PC may delete it; the spool has a copy
        written |= write_layers(folder / "build-7", [3])
        wait_for(lambda: counts(folder)["pending"] == 4, what="four spooled files")
        assert Layer.objects.count() == 0
        forwarder = Forwarder(port, (live_server.thread.host, live_server.thread.port))  # the server is up
        wait_for(lambda: counts(folder)["sent"] == 4, what="all four sent")
    finally:
        output = stop_uploader(process)
        if forwarder:
            forwarder.close()
    assert stored(printer.machine) == {i: hashlib.sha256(data).hexdigest() for i, data in written.items()}
    assert "next try in" in output and output.count("sent build-7/") == 4


def test_it_sends_a_duplicate_file_as_one_layer_and_is_idempotent_without_its_spool(live_server, printer, folder):
    written = write_layers(folder / "build-7", [5])
    shutil.copy(folder / "build-7" / "layer_00005.png", folder / "build-7" / "copy_of_layer_00005.png")
    assert upload_once(live_server, printer, folder) == 0
    assert stored(printer.machine) == {5: hashlib.sha256(written[5]).hexdigest()}
    assert counts(folder)["sent"] == 2
    shutil.rmtree(folder / ".layerwatch-spool")  # a reinstalled PC sends it all again: the server answers 200
    assert upload_once(live_server, printer, folder) == 0
    assert Layer.objects.count() == 1 and counts(folder)["sent"] == 2


def test_it_does_not_send_a_half_written_file(live_server, printer, folder):
    data = image_bytes(seed=3)
    path = folder / "build-7" / "layer_00003.png"
    path.parent.mkdir()
    path.write_bytes(data[: len(data) // 2])  # the camera stopped halfway, for longer than --settle
    assert upload_once(live_server, printer, folder) == 0
    assert Layer.objects.count() == 0 and counts(folder)["pending"] == 0
    with path.open("ab") as handle:
        handle.write(data[len(data) // 2 :])
    assert upload_once(live_server, printer, folder) == 0
    assert stored(printer.machine) == {3: hashlib.sha256(data).hexdigest()}


def test_it_reports_a_conflict_once_and_does_not_retry_it(live_server, printer, folder, caplog):
    write_layers(folder / "build-7", [1])
    (folder / "build-7" / "retake_00001.png").write_bytes(image_bytes(seed=99))
    assert upload_once(live_server, printer, folder) == 1
    assert "conflicts with the layer stored (409)" in caplog.text
    assert counts(folder) == {"pending": 0, "sent": 1, "conflict": 1, "refused": 0}
    caplog.clear()
    assert upload_once(live_server, printer, folder) == 0
    assert "409" not in caplog.text and Layer.objects.count() == 1


def test_it_reports_a_refused_file_and_sends_the_others(live_server, printer, folder, caplog):
    write_layers(folder / "build-7", [0, 2])
    (folder / "build-7" / "layer_00001.png").write_text("not an image")
    assert upload_once(live_server, printer, folder) == 1
    assert "layer_00001.png was refused (415)" in caplog.text
    assert sorted(stored(printer.machine)) == [0, 2]
    assert counts(folder) == {"pending": 0, "sent": 2, "conflict": 0, "refused": 1}


def test_it_reports_layers_for_a_finished_job_as_conflicts(live_server, printer, folder, caplog):
    PrintJob.objects.create(machine=printer.machine, job_id="build-7", status=PrintJob.Status.FINISHED)
    write_layers(folder / "build-7", [0])
    assert upload_once(live_server, printer, folder) == 1
    assert "was finished" in caplog.text and Layer.objects.count() == 0


def test_it_keeps_files_spooled_while_the_token_is_refused(live_server, printer, folder, caplog):
    write_layers(folder / "build-7", [0, 1])
    assert main([str(folder), "--server", live_server.url, "--token", "lwm_wrong", "--once", *FAST]) == 2
    assert "refused the token (401)" in caplog.text
    assert counts(folder)["pending"] == 2
    assert upload_once(live_server, printer, folder) == 0
    assert sorted(stored(printer.machine)) == [0, 1]


def test_it_reads_the_token_from_the_environment(live_server, printer, folder, monkeypatch):
    write_layers(folder / "build-7", [0])
    monkeypatch.setenv("LAYERWATCH_TOKEN", printer.token)
    assert main([str(folder), "--server", live_server.url, "--once", *FAST]) == 0
    assert Layer.objects.count() == 1


def test_it_takes_job_and_layer_from_the_pattern_or_the_job_option(live_server, printer, folder):
    (folder / "B12_L0007.tif").write_bytes(image_bytes(fmt="TIFF", seed=7))
    (folder / "notes.txt").write_text("not a layer")
    assert upload_once(live_server, printer, folder, "--pattern", r"(?P<job>B\d+)_L(?P<layer>\d+)\.tif$") == 0
    assert list(Layer.objects.values_list("job__job_id", "index")) == [("B12", 7)]
    (folder / "frame-0008.png").write_bytes(image_bytes(seed=8))
    assert upload_once(live_server, printer, folder, "--job", "build-7") == 0
    assert stored(printer.machine) == {8: hashlib.sha256(image_bytes(seed=8)).hexdigest()}


def test_it_warns_about_a_file_it_cannot_give_a_job(live_server, printer, folder, caplog):
    (folder / "layer_00001.png").write_bytes(image_bytes())
    assert upload_once(live_server, printer, folder) == 0
    assert "no job for it" in caplog.text and Layer.objects.count() == 0


@pytest.mark.parametrize("args,message", [
    (["--pattern", "(unclosed"], "not a regular expression"),
    (["--pattern", r"\d+\.png"], "(?P<layer>...)"),
    (["--token", ""], "No token"),
])
def test_it_refuses_bad_options_with_a_message(folder, args, message, caplog, monkeypatch):
    monkeypatch.delenv("LAYERWATCH_TOKEN", raising=False)
    assert main([str(folder), "--server", "http://127.0.0.1:9", "--token", "t", "--once", *args]) == 2
    assert message in caplog.text
