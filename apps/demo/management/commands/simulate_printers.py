import json
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.demo.printers import Printer, run_printer

DEFAULT_TOKENS = settings.VAR_DIR / "demo" / "printers.json"


class Command(BaseCommand):
    help = "Runs simulated printers that upload synthetic print jobs, one layer every N seconds each."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between layers.")
        parser.add_argument("--layers", type=int, default=150, help="Layers per job.")
        parser.add_argument("--jobs", type=int, default=0, help="Jobs per printer; 0 runs until stopped.")
        parser.add_argument("--size", type=int, default=512, help="Image side in pixels.")
        parser.add_argument("--defect-chance", type=float, default=0.6,
                            help="Share of jobs that get a defect persisting for a few layers.")
        parser.add_argument("--tokens-file", type=Path, default=DEFAULT_TOKENS,
                            help="JSON {slug: token} written by demo_setup.")
        parser.add_argument("--printer", action="append", default=[], metavar="SLUG=TOKEN",
                            help="A printer to simulate (repeatable); overrides --tokens-file.")

    def handle(self, *args, **o):
        printers = self._printers(o["printer"], o["tokens_file"])
        if o["interval"] < 0 or o["layers"] < 1:
            raise CommandError("--interval must be >= 0 and --layers >= 1.")
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=run_printer,
                kwargs=dict(printer=p, url=o["url"], interval=o["interval"], layers_per_job=o["layers"],
                            jobs=o["jobs"], size=o["size"], defect_chance=o["defect_chance"], stop=stop,
                            log=lambda line: self.stdout.write(line)),
                name=p.slug,
                daemon=True,
            )
            for p in printers
        ]
        self.stdout.write(f"Simulating {len(printers)} printers against {o['url']}.")
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.5)
        except KeyboardInterrupt:
            stop.set()

    def _printers(self, pairs: list[str], tokens_file: Path) -> list[Printer]:
        if pairs:
            if any("=" not in pair for pair in pairs):
                raise CommandError("--printer takes SLUG=TOKEN.")
            return [Printer(*pair.split("=", 1)) for pair in pairs]
        if not tokens_file.exists():
            raise CommandError(f"{tokens_file} not found: run `manage.py demo_setup` or pass --printer.")
        return [Printer(slug, token) for slug, token in json.loads(tokens_file.read_text()).items()]
