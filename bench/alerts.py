"""Alert rules on simulated jobs: how fast critical alerts fire, and how often they fire falsely.

    .venv/bin/python bench/alerts.py [--good-jobs 1000] [--defect-jobs 300] [--seed 0] [--scores FILE]
                                     [--variant per-layer | "layout memory" | change | "powder lost" | ...]

    .venv/bin/python bench/alerts.py --record-scores var/alert_scores.json [--epochs 20] [--holdout jobs]
                                     [--machine 1] [--change-only]

With --scores FILE (written by --record-scores) good jobs are stitched from a real scorer's
recorded scores on later good jobs of a synthetic machine, and defects are that run's recorded
scores of persistent synthetic defects, one row per defect kind (each defect job replays one of
the kind's recorded draws, from different later jobs, at random). The recording trains and
calibrates as the product does (bench/alert_recordings.py), and by default the rules judge what the
product's rules judge: the alert score (ml.alert_score: the highest of the layout-memory, change
and powder-lost channels, each over its own threshold). --variant replays another recorded series
instead: "per-layer" the plain per-layer scores, "layout memory", "change" or "powder lost" one
channel alone. Without --scores, the simulation below is used. --record-scores with --change-only
records the change and powder-lost channels without a scorer or training, so that other machines
are quick to check.
A recording also holds each defect draw's ideal-observer d' (bench.research.visibility) and the
share of its due layers on which a detector that knows its shape, scanning the bed for it within
the false-critical budget, finds it. The replay lists every draw's share alerted within 3 layers
beside them: whether a miss was at the noise, where no detector could be sure of it, or above it.

Assumptions (simulated, not taken from a scorer run; stated so the numbers can be judged):
- A good layer's normalised score (score / threshold) is log-normal. The threshold is calibrated
  at a 1% false-positive rate (LAYERWATCH_TARGET_FPR), so P(good layer > 1) = 1%. The spread
  (sigma 0.2 in log space) puts the median good layer at 0.63 of the threshold.
- Adjacent layers are correlated (AR(1), rho 0.3, in log space): lighting and powder drift.
- A defect starts at a random layer after the warm-up, lasts 5-30 layers, and multiplies the
  layers' scores by a strength factor (1.5x weak, 2x clear, 3x severe).
- Alerts are replayed with rules_replay exactly as the evaluation task sees them (the same
  window and weighted-mean memory). On good jobs every alert is resolved at once, so only the
  cooldown holds back the next one: the worst case for the false-alert count.
Delay is the alerting layer's index minus the onset's (0: the onset layer itself fired).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.alerts.rules import CRITICAL, Point, RuleParams, rules_replay  # noqa: E402
from bench.alert_recordings import (  # noqa: E402
    FALSE_CRITICALS_PER_JOB,
    IDEAL_FALSE_ALARM_RATE,
    LAYERS,
    RECORD_MACHINE,
    WITHIN,
    record_change_scores,
    record_scores,
)
from ml.scorers.base import DEFAULT_SCORER  # noqa: E402

SIGMA, RHO, GOOD_FPR_Z = 0.2, 0.3, 2.326  # z of the 99th percentile
STRENGTHS = {"weak 1.5x": 1.5, "clear 2x": 2.0, "severe 3x": 3.0}


def good_scores(rng: np.random.Generator, n: int) -> np.ndarray:
    noise = rng.standard_normal(n)
    z = np.empty(n)
    z[0] = noise[0]
    for i in range(1, n):
        z[i] = RHO * z[i - 1] + np.sqrt(1 - RHO**2) * noise[i]
    return np.exp(SIGMA * (z - GOOD_FPR_Z))


def criticals(params: RuleParams, scores: np.ndarray, *, resolve_at_once: bool) -> list[int]:
    points = [Point(i, float(v)) for i, v in enumerate(scores)]
    firings = rules_replay(params=params, points=points, resolve_at_once=resolve_at_once)
    return [f.index for f in firings if f.severity == CRITICAL]


def recorded_good(record: dict):
    """Good jobs stitched from random stretches (20-60 layers) of recorded good jobs' scores:
    keeps the scorer's real spread and its layer-to-layer correlation."""
    # Past each recorded job's own warm-up.
    good = [np.asarray(job[10:]) for job in record.get("good_jobs") or [record["good"]]]

    def make(rng: np.random.Generator, n: int) -> np.ndarray:
        parts, total = [], 0
        while total < n:
            length = int(rng.integers(20, 61))
            job = good[int(rng.integers(len(good)))]
            start = int(rng.integers(0, len(job) - length))
            parts.append(job[start : start + length])
            total += length
        return np.concatenate(parts)[:n]

    return make


def bench_good(params: RuleParams, rng: np.random.Generator, jobs: int, make_good=good_scores) -> dict:
    """False alerts on good jobs, under both ways operators may handle warnings.

    Resolved at once: each alert is closed immediately and the cooldown holds the next one back.
    Left open: a warning stays open and escalates if a critical follows (one alert per job).
    """
    counts = {"critical_resolved": 0, "warnings_resolved": 0, "jobs_critical_open": 0, "anomalous": 0}
    for _ in range(jobs):
        scores = make_good(rng, LAYERS)
        counts["anomalous"] += int((scores > 1).sum())
        points = [Point(i, float(v)) for i, v in enumerate(scores)]
        firings = rules_replay(params=params, points=points, resolve_at_once=True)
        counts["critical_resolved"] += sum(f.severity == CRITICAL for f in firings)
        counts["warnings_resolved"] += sum(f.severity != CRITICAL for f in firings)
        counts["jobs_critical_open"] += bool(criticals(params, scores, resolve_at_once=False))
    return {k: v / jobs for k, v in counts.items()} | {"anomalous": counts["anomalous"] / (jobs * LAYERS)}


def strength_defect(strength: float):
    def make(rng: np.random.Generator, scores: np.ndarray) -> tuple[int, int, int | None]:
        duration = int(rng.integers(5, 31))
        onset = int(rng.integers(30, LAYERS - 40))
        scores[onset : onset + duration] *= strength
        return onset, duration, None

    return make


def recorded_defect(draws: list[list[float]]):
    """A recorded defect's scores from its onset, one of the recorded draws of its kind at random."""
    if draws and not isinstance(draws[0], list):
        draws = [draws]  # a recording of one draw per kind

    def make(rng: np.random.Generator, scores: np.ndarray) -> tuple[int, int, int | None]:
        draw = int(rng.integers(len(draws)))
        values = draws[draw]
        onset = int(rng.integers(30, LAYERS - 40))
        scores[onset : onset + len(values)] = values
        return onset, len(values), draw

    return make


def bench_defects(params: RuleParams, rng: np.random.Generator, jobs: int, make_defect, make_good=good_scores) -> dict:
    """Delays to the first critical alert; `per_draw`: for each recorded draw replayed, how many
    jobs replayed it and how many of them alerted critically within 3 layers."""
    delays, missed, early = [], 0, 0
    per_draw: dict[int, list[int]] = {}
    for _ in range(jobs):
        scores = make_good(rng, LAYERS)
        onset, duration, draw = make_defect(rng, scores)
        tally = per_draw.setdefault(draw, [0, 0])
        tally[0] += 1
        fired = criticals(params, scores, resolve_at_once=False)
        if any(i < onset for i in fired):
            early += 1  # a false critical before the defect: the job's alert is already open
            continue
        # A critical long after the defect ended is a false alert, not a late detection.
        after = [i - onset for i in fired if onset <= i < onset + duration + params.window_layers]
        if after:
            delays.append(after[0])
            tally[1] += after[0] <= WITHIN
        else:
            missed += 1
    d = np.array(delays) if delays else np.array([np.nan])
    return {
        "median": float(np.median(d)),
        "p90": float(np.percentile(d, 90)),
        "max": float(np.max(d)),
        "within3": float(np.mean(d <= WITHIN) * len(delays) / jobs),
        "missed": missed / jobs,
        "early": early / jobs,
        "per_draw": per_draw,
    }


def print_parts_finishing(params: RuleParams, jobs: list[list[float]]) -> None:
    """Alerts on the recorded good jobs in which one part of each layout finishes before the others
    (generate_job's parts_finish_early), each replayed whole: the stitched good jobs are cut from
    jobs whose layouts change all at once, and this is the other way a layout changes."""
    layers = sum(len(job) for job in jobs)
    firings = [
        firing
        for job in jobs
        for firing in rules_replay(
            params=params, points=[Point(i, float(v)) for i, v in enumerate(job)], resolve_at_once=True
        )
    ]
    critical = sum(f.severity == CRITICAL for f in firings)
    print(
        f"good jobs whose parts finish one at a time ({len(jobs)} recorded jobs, {layers} layers, replayed whole):"
        f" false criticals per {LAYERS} layers {critical * LAYERS / layers:.2f},"
        f" warnings {(len(firings) - critical) * LAYERS / layers:.2f}"
    )


VISIBILITY_BANDS = (0.0, 10.0, 20.0, 40.0)


def print_by_visibility(draws: list[tuple[str, float, float | None, list[int]]]) -> None:
    """Each recorded draw's d' and the scanning detector's share (defect_visibility) beside its
    share of replays alerted within 3 layers, then those shares by band of d'. No detector reaches
    a higher d' than the ideal observer's, nor finds more than the scanning detector that knows the
    defect's shape: a draw missed where that one finds it is the detector's shortfall, one that it
    misses too is lost in the noise for every detector at the target's false alarm budget."""
    print(
        f"each recorded draw, d' {WITHIN} layers after onset (ideal observer), (share a known-shape scan finds then"
        f" at {IDEAL_FALSE_ALARM_RATE:g} false alarms per layer): share alerted within {WITHIN}"
    )
    for kind in dict.fromkeys(kind for kind, *_ in draws):
        cells = [
            f"{d:5.1f}{'' if scan is None else f' ({scan:4.0%})'}: {within / jobs:4.0%}"
            for k, d, scan, (jobs, within) in draws
            if k == kind
        ]
        print(f"{kind:>16}  " + " | ".join(cells))
        scans = [scan for k, _, scan, _ in draws if k == kind and scan is not None]
        if scans:
            alerted = np.mean([within / jobs for k, _, _, (jobs, within) in draws if k == kind])
            print(
                f"{'':>16}  the scan finds {np.mean(scans):.1%} of the draws' due layers;"
                f" alerted within {WITHIN}: {alerted:.1%}"
            )
    for low, high in zip(VISIBILITY_BANDS, (*VISIBILITY_BANDS[1:], np.inf), strict=True):
        band = [tally for _, d, _, tally in draws if low <= d < high]
        jobs, within = (sum(column) for column in zip(*band, strict=True)) if band else (0, 0)
        share = f"{within / jobs:.1%}" if jobs else "-"
        print(f"d' {low:g} to {high:g}: {len(band)} draws, {share} of their replays alerted within {WITHIN}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--good-jobs", type=int, default=1000)
    parser.add_argument("--defect-jobs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scores", help="a JSON file written by --record-scores: use a scorer's real scores")
    parser.add_argument(
        "--variant", help="with --scores: another recorded series (e.g. per-layer) instead of what the rules judge"
    )
    parser.add_argument("--record-scores", metavar="OUT", help="run a real scorer and write its scores to OUT")
    parser.add_argument("--scorer", default=DEFAULT_SCORER, help="the scorer for --record-scores")
    parser.add_argument(
        "--change-only",
        action="store_true",
        help="with --record-scores: the change and powder-lost channels, no scorer",
    )
    parser.add_argument(
        "--stated-layouts",
        action="store_true",
        help="with --record-scores: the printer states each layer's part layout (the API's `layout`)",
    )
    parser.add_argument("--epochs", type=int, default=20, help="training epochs for --record-scores")
    parser.add_argument(
        "--machine", type=int, default=RECORD_MACHINE, help="the synthetic machine --record-scores runs on"
    )
    parser.add_argument(
        "--holdout",
        choices=("jobs", "random"),
        default="jobs",
        help="calibration layers for --record-scores: whole jobs, as the product (default), or random layers",
    )
    args = parser.parse_args()
    if args.record_scores and args.change_only:
        record_change_scores(Path(args.record_scores), args.machine, args.stated_layouts)
        return
    if args.record_scores:
        record_scores(
            Path(args.record_scores), args.epochs, args.scorer, args.holdout, args.machine, args.stated_layouts
        )
        return
    params = RuleParams()
    rng = np.random.default_rng(args.seed)
    started = time.monotonic()
    make_good, defects = good_scores, {f"defect {n}": strength_defect(s) for n, s in STRENGTHS.items()}
    source = "simulated log-normal scores"
    if args.scores:
        record = json.loads(Path(args.scores).read_text())
        variant = args.variant or record.get("judged", "per-layer")
        if args.variant and args.variant != record.get("judged", "per-layer"):
            record = {**record, **record["variants"][args.variant]}
        record["scorer"] = f"{record['scorer']} ({variant})"
        make_good = recorded_good(record)
        defects = {f"recorded {kind}": recorded_defect(v) for kind, v in record["defects"].items()}
        source = f"scores recorded from a {record.get('scorer', 'seed')}-scorer run ({args.scores})"
    good = bench_good(params, rng, args.good_jobs, make_good)
    print(f"rule: {params}")
    print(f"{source}; good jobs: {args.good_jobs} x {LAYERS} layers, anomalous-layer rate {good['anomalous']:.2%}")
    print(f"| {'jobs':<25} | {'median':>6} | {'p90':>5} | {'max':>5} | {'<=3':>6} | {'missed':>6} | {'early':>6} |")
    print(f"|{'-' * 27}|{'-' * 8}|{'-' * 7}|{'-' * 7}|{'-' * 8}|{'-' * 8}|{'-' * 8}|")
    draws = []  # (kind, the draw's d', the scan's share or None, its replays' [jobs, within 3]) where the record has d'
    for name, make_defect in defects.items():
        r = bench_defects(params, rng, args.defect_jobs, make_defect, make_good)
        print(
            f"| {name:<25} | {r['median']:>6.1f} | {r['p90']:>5.1f} | {r['max']:>5.0f} |"
            f" {r['within3']:>6.1%} | {r['missed']:>6.1%} | {r['early']:>6.1%} |"
        )
        kind = name.removeprefix("recorded ")
        if args.scores and kind in record.get("visibility", {}):
            scans = record.get("scan_found", {}).get(kind)
            draws += [
                (kind, record["visibility"][kind][draw], None if scans is None else scans[draw], tally)
                for draw, tally in sorted(r["per_draw"].items())
            ]
    if draws:
        print_by_visibility(draws)
    if args.scores and record.get("good_jobs_parts_finishing"):
        print_parts_finishing(params, record["good_jobs_parts_finishing"])
    print(
        f"good jobs, false critical alerts per job (target <= {FALSE_CRITICALS_PER_JOB}):"
        f" {good['critical_resolved']:.3f} when every"
        f" alert is resolved at once, {good['jobs_critical_open']:.3f} when warnings are left open to escalate;"
        f" warnings per job {good['warnings_resolved']:.2f}"
    )
    print("delay: layers from a defect's onset to its first critical alert (0: the onset layer fired);")
    print("<=3: share of defect jobs alerted critically within 3 layers; missed: no critical during the")
    print("defect; early: a false critical before the onset (the job's alert was already open).")
    print(f"{time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
