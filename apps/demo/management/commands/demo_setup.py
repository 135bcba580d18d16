from django.core.management.base import BaseCommand

from apps.demo.management.commands.simulate_printers import DEFAULT_TOKENS
from apps.demo.setup import (
    PAST_JOB_LAYERS,
    PAST_JOBS,
    machines_ensure,
    model_ensure,
    operator_ensure,
    training_layers_ensure,
)


class Command(BaseCommand):
    help = "Creates the demo operator, three machines and a trained model for each (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="operator")
        parser.add_argument("--password", default=None, help="Default: a new random password, printed.")
        parser.add_argument("--training-layers", type=int, default=100, help="Single archived layers.")
        parser.add_argument("--past-jobs", type=int, default=PAST_JOBS, help="Earlier jobs, layer by layer.")
        parser.add_argument("--past-job-layers", type=int, default=PAST_JOB_LAYERS)
        parser.add_argument("--epochs", type=int, default=6)
        parser.add_argument("--size", type=int, default=512)
        parser.add_argument("--retrain", action="store_true")

    def handle(self, *args, **o):
        password = operator_ensure(username=o["username"], password=o["password"])
        machines = machines_ensure(tokens_file=DEFAULT_TOKENS)
        for machine in machines.values():
            training_layers_ensure(
                machine=machine,
                n_layers=o["training_layers"],
                size=o["size"],
                past_jobs=o["past_jobs"],
                past_job_layers=o["past_job_layers"],
            )
            model_ensure(machine=machine, epochs=o["epochs"], retrain=o["retrain"], log=self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"\nOperator login: {o['username']} / {password}   (http://localhost:8000/accounts/login/)\n"
                f"Printer tokens: {DEFAULT_TOKENS}"
            )
        )
