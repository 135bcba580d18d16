from django.core.management.base import BaseCommand, CommandError

from apps.machines.services import MachineNameTaken, machine_create


class Command(BaseCommand):
    help = "Creates a machine and prints its API token alone on the last line (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--pause-url", default="")

    def handle(self, *args, name: str, pause_url: str, **options):
        try:
            created = machine_create(name=name, pause_url=pause_url)
        except (MachineNameTaken, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Created machine {created.machine.name} ({created.machine.slug}).")
        self.stdout.write("Its API token follows; it is not stored and cannot be shown again:")
        self.stdout.write(created.token)
