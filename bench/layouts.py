"""How the change channel tells a new part layout from the same one, pair by pair of consecutive layers.

    .venv/bin/python bench/layouts.py [--machines 1 2 7] [--no-pblm] [--demo-printers 30]

The change channel compares each layer with the previous layers of its part layout, and where the
printer does not state its layouts, ml.change.keys.parts_keys_match decides from the images which layers
those are. Calling a layout new where it is not costs little (the channel waits MIN_REFERENCES
layers); calling a new layout, or a part that finished, the same one raises false alarms; and
calling a defect's onset a new layout hides the defect. This counts both kinds of error on the
synthetic machines' later jobs (bench/alerts.py's GOOD_JOBS, the same jobs with parts that finish
early, and DEFECT_JOBS), where the stated layouts say what each pair really is:

- "same layout": consecutive good layers the printer states as one layout;
- "new layout": a new group of parts;
- "a part finished": one part of a group is done, the others go on;
- each defect kind's onset: the defect's first layer against the layer before it.

For each, the pairs that parts_keys_match calls a new layout, and the rules behind it: part_finished,
and the share of blocks that changed beyond exposure and camera shift (changed_share; little_changed
under 2%, much_changed from 3.5%). And the pairs where layout memory goes on though the layout
embedding breaks: a part finished and nothing new came (parts_only_finished). Then the real PBLM
frames: consecutive good frames, and the last good frame against each defective one (all the same
layout). The figures behind the constants in ml/change/keys.py come from here (ml/change/README.md).
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.alert_recordings import DEFECT_JOBS, GOOD_JOBS, RECORD_LAYERS, RECORD_PERSISTENCE, defect_onsets  # noqa: E402
from ml.change.keys import changed_share, part_finished, parts_keys, parts_keys_match, parts_only_finished  # noqa: E402
from ml.preprocess import preprocess_batch  # noqa: E402
from ml.synthetic import generate_job  # noqa: E402


def pair_kind(layout: str, previous_layout: str) -> str:
    """What a pair of consecutive good layers is, by their stated layouts ("group 2", "group 2, its
    first part finished")."""
    if layout == previous_layout:
        return "same layout"
    if layout.split(",")[0] == previous_layout.split(",")[0]:
        return "a part finished"
    return "new layout"


class Tally:
    """Pairs of parts keys by kind, and how parts_keys_match and its rules judged them."""

    def __init__(self) -> None:
        self.pairs: dict[str, list[tuple[bool, bool, bool, float]]] = defaultdict(list)

    def add(self, kind: str, key: np.ndarray, previous: np.ndarray) -> None:
        levels, previous_levels = np.split(key, 2)[1], np.split(previous, 2)[1]
        self.pairs[kind].append(
            (
                not parts_keys_match(key, previous),
                part_finished(levels, previous_levels),
                parts_only_finished(key, previous),
                changed_share(levels, previous_levels),
            )
        )

    def print(self, title: str) -> None:
        print(f"\n{title}")
        header = ("pairs", "n", "new layout", "finished", "only finished", "changed: min", "median", "max")
        print("| {:<22} | {:>5} | {:>10} | {:>8} | {:>13} | {:>12} | {:>6} | {:>6} |".format(*header))
        for kind, judged in self.pairs.items():
            new, finished, only, share = (np.array(column) for column in zip(*judged, strict=True))
            print(
                f"| {kind:<22} | {len(judged):>5} | {int(new.sum()):>10} | {int(finished.sum()):>8} |"
                f" {int(only.sum()):>13} |"
                f" {share.min():>12.2%} | {np.median(share):>6.2%} | {share.max():>6.2%} |"
            )


def tally_machine(machine: int) -> Tally:
    tally = Tally()
    for finish_early in (False, True):
        for seed in GOOD_JOBS:
            job = generate_job(seed=seed, n_layers=RECORD_LAYERS, machine_seed=machine, parts_finish_early=finish_early)
            keys = parts_keys(preprocess_batch(layer.image for layer in job))
            for t in range(1, len(job)):
                kind = pair_kind(job[t].layout, job[t - 1].layout)
                if finish_early and kind == "same layout":
                    continue  # counted in the jobs without early finishes
                tally.add(kind, keys[t], keys[t - 1])
    for seed in DEFECT_JOBS:
        onsets = defect_onsets(seed)
        job = generate_job(
            seed=seed,
            n_layers=max(onsets) + 1,
            machine_seed=machine,
            defects=onsets,
            defect_persistence=RECORD_PERSISTENCE,
        )
        keys = parts_keys(preprocess_batch(job[t].image for t in range(len(job))))
        for onset, kind in onsets.items():
            if job[onset].layout == job[onset - 1].layout:  # an onset on a new layout's first layer is both
                tally.add(f"{kind} onset", keys[onset], keys[onset - 1])
    return tally


def tally_pblm() -> Tally:
    from bench.detection import load_pblm

    images, labels, _ = load_pblm()
    keys = parts_keys(images)
    good = [i for i, label in enumerate(labels) if label == 0]
    tally = Tally()
    for earlier, later in zip(good, good[1:], strict=False):
        tally.add("consecutive good", keys[later], keys[earlier])
    for i in np.flatnonzero(labels == 1):
        tally.add("last good, defective", keys[i], keys[good[-1]])
    return tally


def tally_demo_printer(slug: str, jobs: int) -> Tally:
    """Good jobs as make demo's printer `slug` sends them: its look, 150 layers, parts that change
    every PRINTER_GROUP layers, 512 px photos scaled down as the product scores them."""
    from apps.demo.printers import PRINTER_GROUP, machine_seed

    look = machine_seed(slug)
    tally = Tally()
    for number in range(jobs):
        # Seeds of their own: the printers draw theirs from the clock, below these.
        job = generate_job(seed=look * 1000 + 500 + number, machine_seed=look, n_layers=150, size=512,
                           group_length=PRINTER_GROUP)
        keys = parts_keys(preprocess_batch(layer.image for layer in job))
        for t in range(1, len(job)):
            kind = "same layout" if job[t].group == job[t - 1].group else "new layout"
            tally.add(kind, keys[t], keys[t - 1])
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, nargs="*", default=[1, 2, 7])
    parser.add_argument("--no-pblm", action="store_true", help="leave out the real PBLM frames")
    parser.add_argument(
        "--demo-printers", type=int, default=0, metavar="JOBS", help="also JOBS good jobs of each make demo printer"
    )
    args = parser.parse_args()
    for machine in args.machines:
        tally_machine(machine).print(f"synthetic machine {machine}")
    if not args.no_pblm:
        tally_pblm().print("real PBLM frames")
    for slug in ("printer-a", "printer-b", "printer-c") if args.demo_printers else ():
        tally_demo_printer(slug, args.demo_printers).print(f"make demo's {slug}, {args.demo_printers} jobs at 512 px")


if __name__ == "__main__":
    main()
