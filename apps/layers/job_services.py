"""The printer's job lifecycle: created or updated by the printer, then finished or aborted once."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.layers.models import PrintJob
from apps.layers.services import JobEnded
from apps.machines.models import Machine


@dataclass(frozen=True)
class JobUpsertResult:
    job: PrintJob
    created: bool


def job_upsert(
    *,
    machine: Machine,
    job_id: str,
    name: str | None = None,
    expected_layers: int | None = None,
    part_names: dict[str, str] | None = None,
) -> JobUpsertResult:
    """Creates the machine's job or updates the fields given (None leaves a field as it is).

    `part_names` replaces the job's whole part list. An ended job answers an identical request
    unchanged and raises JobEnded for a change.
    """
    given = {"name": name, "expected_layers": expected_layers, "part_names": part_names}
    given = {field: value for field, value in given.items() if value is not None}
    with transaction.atomic():
        job, created = PrintJob.objects.select_for_update().get_or_create(
            machine=machine, job_id=job_id, defaults=given
        )
        if created:
            return JobUpsertResult(job=job, created=True)
        changed = [field for field, value in given.items() if getattr(job, field) != value]
        if changed and job.status != PrintJob.Status.RUNNING:
            raise JobEnded(job, action=f"cannot change its {', '.join(changed)}")
        for field in changed:
            setattr(job, field, given[field])
        if changed:
            job.save(update_fields=changed)
    return JobUpsertResult(job=job, created=False)


def job_finish(*, job: PrintJob) -> PrintJob:
    """Marks the job finished; again for a finished job is a no-op, for an aborted one JobEnded."""
    return _job_end(job=job, status=PrintJob.Status.FINISHED)


def job_abort(*, job: PrintJob) -> PrintJob:
    """Marks the job aborted; again for an aborted job is a no-op, for a finished one JobEnded."""
    return _job_end(job=job, status=PrintJob.Status.ABORTED)


def _job_end(*, job: PrintJob, status: str) -> PrintJob:
    # A conditional UPDATE: of a finish and an abort sent at once, the first one counts.
    PrintJob.objects.filter(pk=job.pk, status=PrintJob.Status.RUNNING).update(
        status=status, finished_at=timezone.now()
    )
    job.refresh_from_db()
    if job.status != status:
        raise JobEnded(job, action=f"cannot be {status} as well")
    return job
