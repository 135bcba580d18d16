"""Sets up the demo: an operator login, three machines with tokens, and a trained model each."""

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth import get_user_model

from apps.demo.printers import PRINTER_GROUP, machine_seed, png_bytes
from apps.layers.models import Label, LabelValue
from apps.layers.services import label_submit, layer_ingest
from apps.machines.models import Machine
from apps.machines.services import machine_create, machine_rotate_token
from apps.scoring.selectors import model_version_active
from apps.scoring.training import model_version_activate, model_version_create, model_version_train
from ml.synthetic import generate_job, generate_layers

DEMO_MACHINES = ("Printer A", "Printer B", "Printer C")
TRAINING_JOB = "demo-training"
# Besides the archive of single layers, a few earlier jobs layer by layer. Training holds some of
# them out whole and scores them in order, which calibrates the alert rules' change channel
# (ml.change); single layers, each with other parts, leave that channel off. Their parts
# change every PAST_JOB_GROUP layers, not every 30 as on the simulated printers: the per-layer
# threshold is calibrated on the held-out layers, and a plant's held-out jobs bring many layouts.
# Their parts grow from layer to layer as fast as the printers' do (PRINTER_GROUP): grown over 10
# layers, the parts' edges moved 3 times as fast, and the change channel, calibrated on these
# jobs, took that for a change (printer C's threshold was 15.5, printer B's 9.3, and it missed a pit).
PAST_JOBS, PAST_JOB_LAYERS, PAST_JOB_GROUP = 3, 40, 10
PAST_JOB_SEEDS = 200_000_000  # above every seed the simulated printers draw, so no job repeats a past one


def operator_ensure(*, username: str, password: str | None) -> str:
    password = password or secrets.token_urlsafe(9)
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = True  # the demo operator also manages machines and models
    user.set_password(password)
    user.save()
    return password


def machines_ensure(*, tokens_file: Path) -> dict[str, Machine]:
    """Creates the demo machines, or issues fresh tokens for existing ones (tokens are shown once)."""
    tokens, machines = {}, {}
    for name in DEMO_MACHINES:
        machine = Machine.objects.filter(name=name).first()
        if machine is None:
            created = machine_create(name=name)
            machine, token = created.machine, created.token
        else:
            token = machine_rotate_token(machine=machine)
        tokens[machine.slug] = token
        machines[machine.slug] = machine
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(json.dumps(tokens, indent=2))
    os.chmod(tokens_file, 0o600)
    return machines


def training_layers_ensure(
    *, machine: Machine, n_layers: int, size: int, past_jobs: int = PAST_JOBS, past_job_layers: int = PAST_JOB_LAYERS
) -> None:
    """Good layers in the machine's own look, labeled good, for its first model: `n_layers` single
    layers, each with other parts (as an archive of many jobs would have), and `past_jobs` earlier
    jobs of `past_job_layers` consecutive layers."""
    seed = machine_seed(machine.slug)
    archive = generate_layers(seed=seed * 1000 + 999, machine_seed=seed, n=n_layers, size=size)
    batches = [(TRAINING_JOB, archive)] + [
        (
            f"demo-past-{number}",
            generate_job(
                seed=PAST_JOB_SEEDS + seed * 1000 + number,
                machine_seed=seed,
                n_layers=past_job_layers,
                size=size,
                group_length=PAST_JOB_GROUP,
                growth_layers=PRINTER_GROUP,
            ),
        )
        for number in range(1, past_jobs + 1)
    ]
    for job_id, layers in batches:
        for layer in layers:
            result = layer_ingest(
                machine=machine, job_id=job_id, index=layer.index, data=png_bytes(layer.image), enqueue=False
            )
            if result.layer.label != LabelValue.GOOD:
                label_submit(layer=result.layer, value=LabelValue.GOOD, source=Label.Source.IMPORT)


def model_ensure(*, machine: Machine, epochs: int, retrain: bool, log: Callable[[str], None]) -> None:
    if model_version_active(machine=machine) and not retrain:
        log(f"{machine.name}: already has an active model (use --retrain to train again).")
        return
    version = model_version_create(machine=machine)
    log(f"{machine.name}: training v{version.version} for {epochs} epochs…")
    version = model_version_train(version=version, epochs=epochs)
    model_version_activate(version=version)
    log(f"{machine.name}: v{version.version} active, threshold {version.threshold:.5g} ({version.calibration_method}).")
