"""Alert rules on simulated jobs: how fast critical alerts fire, and how often they fire falsely.

    .venv/bin/python bench/alerts.py [--good-jobs 1000] [--defect-jobs 300] [--seed 0] [--scores FILE]
                                     [--variant per-layer | "layout memory" | change | "powder lost" | ...]

    .venv/bin/python bench/alerts.py --record-scores var/alert_scores.json [--epochs 20] [--holdout jobs]
                                     [--machine 1] [--change-only]

With --scores FILE (written by --record-scores) good jobs are stitched from a real scorer's
recorded scores on later good jobs of a synthetic machine, and defects are that run's recorded
scores of persistent synthetic defects, one row per defect kind (each defect job replays one of
the kind's recorded draws, from different later jobs, at random). The recording trains and
calibrates as the product does (see record_scores), and by default the rules judge what the
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
from ml.scorers.base import DEFAULT_SCORER  # noqa: E402

LAYERS = 500
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


RECORD_MACHINE, RECORD_LAYERS, RECORD_PERSISTENCE = 1, 240, 8
WITHIN = 3  # the target: a critical alert within 3 layers of a defect's onset
PAST_JOBS, PAST_LAYERS = (101, 102, 103, 104), 90  # the machine's earlier jobs, trained on
# Later jobs of the same machine, with new layouts; each defect job has one defect of every kind.
GOOD_JOBS, DEFECT_JOBS = (201, 202, 203), (204, 205, 206, 207, 208, 209)
HOLDOUT_FRACTION = 0.2  # as apps.scoring.training
JUDGED_CHANGE_ONLY = "change and powder lost"  # what --change-only recordings judge
FALSE_CRITICALS_PER_JOB = 0.1  # the target: at most 1 false critical alert in 10 good jobs
# The ideal scanning detector's false alarms per layer: the whole budget spent on single layers.
IDEAL_FALSE_ALARM_RATE = FALSE_CRITICALS_PER_JOB / LAYERS


def defect_onsets(seed: int) -> dict[int, str]:
    """One defect of each kind, in slots of 35 layers, each at a random layer of its slot.

    The synthetic jobs change part layout every 30 layers. Onsets at fixed layers would put one
    kind on a layout's first layer in every job, where layout memory cannot tell it from a part.
    """
    from ml.synthetic import DEFECT_KINDS

    rng = np.random.default_rng([seed, 7])
    return {30 + 35 * i + int(rng.integers(0, 27)): kind for i, kind in enumerate(DEFECT_KINDS)}


def defect_visibility(machine: int) -> dict[str, dict[str, list[float]]]:
    """How visible each recorded defect draw is on the layer WITHIN layers after its onset, where a
    critical alert is due, comparing as the change channel does: the mean of its WITHIN + 1 layers
    with the defect against MAX_REFERENCES before it. "visibility": the ideal observer's d'
    (bench.research.visibility); "scan_found": the share of such layers on which a detector that
    knows the defect's shape, but scans the bed for it, finds it within the target's false alarm
    budget (IDEAL_FALSE_ALARM_RATE). Each by kind, in the order of the recorded draws."""
    from bench.research.visibility import ideal_search_detection, ideal_visibility
    from ml.change.scoring import MAX_REFERENCES
    from ml.synthetic import DEFECT_KINDS, generate_job, machine_of

    visibility = {table: {kind: [] for kind in DEFECT_KINDS} for table in ("visibility", "scan_found")}
    machine_look = machine_of(machine)
    compared = {"recent": WITHIN + 1, "references": MAX_REFERENCES}
    for seed in DEFECT_JOBS:
        onsets = defect_onsets(seed)
        n_layers = max(onsets) + WITHIN + 1
        defective = generate_job(
            seed=seed,
            n_layers=n_layers,
            machine_seed=machine,
            defects=onsets,
            defect_persistence=RECORD_PERSISTENCE,
        )
        # The same job without its defects: the same grain, noise and camera shift on every layer.
        clean = generate_job(seed=seed, n_layers=n_layers, machine_seed=machine)
        for onset, kind in onsets.items():
            due = onset + WITHIN
            signal = defective[due].image.astype(np.float64) - clean[due].image
            visibility["visibility"][kind].append(round(ideal_visibility(signal, machine_look, **compared), 2))
            found = ideal_search_detection(
                signal, machine_look, **compared, false_alarm_rate=IDEAL_FALSE_ALARM_RATE, seed=seed
            )
            visibility["scan_found"][kind].append(round(found, 3))
    return visibility


def record_scores(
    out: Path, epochs: int, scorer_name: str, holdout: str, machine: int = RECORD_MACHINE, stated_layouts: bool = False
) -> None:
    """Records normalised scores from a real scorer run (TensorFlow; minutes on a CPU).

    Mirrors apps.scoring.training: the scorer (the platform's default unless named) trains on a
    machine's earlier jobs less the layers ml.calibration.holdout_split holds out (whole jobs),
    and calibrate() sets the threshold at the 1% FPR target on those, padded with benign
    variants (ml.calibration_set). Then it scores later jobs of the same machine, with their own
    part layouts: good ones, and six with persistent defects of every kind. It records the
    per-layer scores, the alert scores the product's rules judge, with the change channel
    calibrated on the earlier jobs scored in order, as apps.scoring.training does, and the
    layout-baseline sequential variant (bench.research.sequence), calibrated on the held-out jobs.
    `holdout="random"` holds out random layers instead (the procedure before).
    """
    from bench.research.sequence import layout_baseline_residual, same_embedding_as_previous
    from ml.alert_score import alert_score_combine
    from ml.calibration import calibrate, holdout_split
    from ml.calibration_set import calibration_set
    from ml.change.calibration import change_calibrate_jobs
    from ml.change.keys import layout_key, powder_lost_shares
    from ml.change.scoring import change_scores
    from ml.groups import embed_layers
    from ml.layout_memory.scoring import layout_memory_scores
    from ml.preprocess import preprocess_batch
    from ml.scorers import get_scorer_class
    from ml.synthetic import DEFECT_KINDS, generate_job

    def images(layers) -> np.ndarray:
        return preprocess_batch(layer.image for layer in layers)

    past = [generate_job(seed=s, n_layers=PAST_LAYERS, machine_seed=machine) for s in PAST_JOBS]
    pool = images(layer for job in past for layer in job)
    jobs = [s for s in PAST_JOBS for _ in range(PAST_LAYERS)]
    indexes = [i for _ in PAST_JOBS for i in range(PAST_LAYERS)]
    if holdout == "random":
        order = np.random.default_rng(0).permutation(len(pool))
        n_holdout = round(len(pool) * HOLDOUT_FRACTION)
        train, held = order[n_holdout:], order[:n_holdout]
    else:
        train, held = holdout_split(jobs, indexes, HOLDOUT_FRACTION, seed=0)
    scorer = get_scorer_class(scorer_name)()
    scorer.fit(pool[train], epochs=epochs, batch_size=16, verbose=False)

    # What the product's alert rules judge: the alert score (apps.scoring.alert_channels).
    top_fraction = scorer.score_top_fraction()

    def sequences(
        stack: np.ndarray, threshold: float | None = None, change_threshold: float | None = None, layouts=None
    ) -> tuple:
        """Per-layer scores, the layout-baseline variant (bench.research.sequence), layout memory (ml.layout_memory; the
        per-layer `threshold` decides which layers it learns from), the change channel
        (ml.change; its threshold decides which layers are its references) and powder lost (None
        where the change channel is off, as in the product); `layouts` the layouts the printer
        states, if it does."""
        result = scorer.score(stack)
        # As the product: layer keys where the change channel runs (parts_only_finished, powder lost).
        keys = None if change_threshold is None else layout_key(stack)
        memory = None
        if top_fraction is not None:
            memory = layout_memory_scores(
                result.heatmaps,
                embed_layers(stack),
                top_fraction=top_fraction,
                scores=result.scores,
                threshold=threshold,
                layouts=layouts,
                layout_keys=keys,
            )
        baseline = layout_baseline_residual(result.heatmaps, same_embedding_as_previous(stack))
        lost = None if keys is None else powder_lost_shares(keys)
        return result.scores, baseline, memory, change_scores(stack, change_threshold, layouts), lost

    # As the product: the held-out layers, padded with benign variants of them (calibration_set).
    calibration = calibrate(scorer.score(calibration_set(pool[held], seed=0)).scores, target_fpr=0.01)
    threshold = calibration.threshold
    # As apps.scoring.training: on every earlier job, each scored in order (it learns nothing from them).
    change_calibration = change_calibrate_jobs(
        (pool[k * PAST_LAYERS : (k + 1) * PAST_LAYERS] for k in range(len(PAST_JOBS))),
        (stated_layouts_of(job, stated_layouts) for job in past),
    )
    variants = {}
    if holdout == "jobs":  # held out as whole jobs, they are sequences the variants can run on
        by_job = [[p for p in held if jobs[p] == job] for job in dict.fromkeys(jobs[p] for p in held)]
        baseline = np.concatenate(
            [
                layout_baseline_residual(scorer.score(pool[p]).heatmaps, same_embedding_as_previous(pool[p]))
                for p in by_job
            ]
        )
        variants["layout baseline"] = calibrate(baseline[~np.isnan(baseline)], target_fpr=0.01).threshold

    def judged_by(layer, memory, change, lost, *, channels: tuple[str, ...]) -> np.ndarray:
        """The alert score (ml.alert_score) from the given channels, normalised by the per-layer threshold."""
        use_change = "change" in channels and change_calibration is not None
        use_lost = "powder lost" in channels and lost is not None
        values = [
            alert_score_combine(
                threshold,
                score=0.0 if "score" not in channels else score,
                memory=None if memory is None or "layout memory" not in channels else memory[t],
                change=change[t] if use_change else None,
                change_threshold=change_calibration.threshold if use_change else None,
                change_baseline=change_calibration.baseline if use_change else 0.0,
                powder_lost=lost[t] if use_lost else None,
            ).value
            for t, score in enumerate(layer)
        ]
        return np.array(values) / threshold

    def scored(seed: int, **kwargs) -> dict[str, np.ndarray]:
        job = generate_job(seed=seed, n_layers=RECORD_LAYERS, machine_seed=machine, **kwargs)
        change_threshold = None if change_calibration is None else change_calibration.threshold
        layouts = stated_layouts_of(job, stated_layouts)
        layer, baseline, memory, change, lost = sequences(images(job), threshold, change_threshold, layouts)
        out = {"per-layer": layer / threshold}
        if change_calibration is not None:
            out["change"] = judged_by(layer, None, change, None, channels=("change",))  # never below 0
            out["powder lost"] = judged_by(layer, None, None, lost, channels=("powder lost",))
        if memory is not None:
            # Never above the per-layer score, so it shares the per-layer threshold.
            out["layout memory"] = memory / threshold
        if memory is not None or change_calibration is not None:
            out["alert score"] = judged_by(
                layer, memory, change, lost, channels=("score", "layout memory", "change", "powder lost")
            )
        if variants:
            # No alarm from the baseline in a layout's first layers; or the per-layer score there.
            out["layout baseline"] = np.nan_to_num(baseline / variants["layout baseline"], nan=0.0)
            out["baseline, else per-layer"] = np.where(np.isnan(baseline), out["per-layer"], out["layout baseline"])
        return out

    good = [scored(seed) for seed in GOOD_JOBS]
    finishing = [scored(seed, parts_finish_early=True) for seed in GOOD_JOBS]
    judged = "alert score" if "alert score" in good[0] else "per-layer"
    onsets = {seed: defect_onsets(seed) for seed in DEFECT_JOBS}
    defect_jobs = [scored(seed, defects=onsets[seed], defect_persistence=RECORD_PERSISTENCE) for seed in DEFECT_JOBS]

    def series(name: str) -> dict:
        return {
            "good_jobs": [[round(float(v), 4) for v in job[name]] for job in good],
            "good_jobs_parts_finishing": [[round(float(v), 4) for v in job[name]] for job in finishing],
            "defects": {
                kind: [
                    [round(float(v), 4) for v in job[name][onset : onset + RECORD_PERSISTENCE]]
                    for seed, job in zip(DEFECT_JOBS, defect_jobs, strict=True)
                    for onset, kind_there in onsets[seed].items()
                    if kind_there == kind
                ]
                for kind in DEFECT_KINDS
            },
        }

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "epochs": epochs,
                "scorer": scorer_name,
                "holdout": holdout,
                "threshold": threshold,
                "calibration": calibration.details,
                "judged": judged,
                "stated_layouts": stated_layouts,
                **series(judged),
                # The other series (--variant), each normalised by its own calibrated threshold.
                "variants": {name: series(name) for name in good[0] if name != judged},
                "variant_thresholds": variants,
                "change_calibration": None if change_calibration is None else vars(change_calibration),
                "machine": machine,
                **defect_visibility(machine),
            },
            indent=1,
        )
    )
    print(f"wrote {out}: {len(held)} held-out layers ({holdout}), threshold {threshold:.3f}")
    for name in dict.fromkeys((judged, "per-layer")):
        rates = ", ".join(f"{np.mean(job[name] > 1):.1%}" for job in good)
        print(f"{name}: good jobs' layers above threshold: {rates}; defects (score/threshold):")
        for kind, draws in series(name)["defects"].items():
            for values in draws:
                print(f"{kind:>16}: " + " ".join(f"{v:.2f}" for v in values))


def stated_layouts_of(layers, stated: bool) -> list[str] | None:
    """What a printer that states its layouts would send with each layer: which parts it shows."""
    return [layer.layout for layer in layers] if stated else None


def record_change_scores(out: Path, machine: int = RECORD_MACHINE, stated_layouts: bool = False) -> None:
    """Records the change channel and powder lost, which run together in the product, without the
    scorer (ml.change; no training: minutes on a CPU). The rules judge the higher of the two
    ("change and powder lost"); each alone is a variant.

    The same jobs as record_scores: the channel is calibrated on the earlier jobs, as
    apps.scoring.training does, then scores the later good and defect jobs. It compares images
    only, so other synthetic machines are quick to check.
    """
    from ml.alert_score import alert_score_combine
    from ml.change.calibration import change_calibrate_jobs
    from ml.change.keys import layout_key, powder_lost_shares
    from ml.change.scoring import change_scores
    from ml.preprocess import preprocess_batch
    from ml.synthetic import DEFECT_KINDS, generate_job

    def job(seed: int, n_layers: int = RECORD_LAYERS, **kwargs) -> tuple[np.ndarray, list[str] | None]:
        """The job's preprocessed images, and the layouts its printer states (stated_layouts)."""
        layers = generate_job(seed=seed, n_layers=n_layers, machine_seed=machine, **kwargs)
        return preprocess_batch(layer.image for layer in layers), stated_layouts_of(layers, stated_layouts)

    def scored(seed: int, threshold: float, **kwargs) -> dict[str, list[float]]:
        """The job's normalised series: each channel alone, and the two as the rules judge them."""
        images, layouts = job(seed, **kwargs)
        change, lost = change_scores(images, threshold, layouts), powder_lost_shares(layout_key(images))
        return {
            JUDGED_CHANGE_ONLY: normalised(change, lost),
            "change": normalised(change, None),
            "powder lost": normalised(None, lost),
        }

    past = [job(s, PAST_LAYERS) for s in PAST_JOBS]
    calibration = change_calibrate_jobs((images for images, _ in past), (layouts for _, layouts in past))
    del past

    def normalised(scores: np.ndarray | None, lost: np.ndarray | None) -> list[float]:
        """As the alert score (ml.alert_score): the change channel 0 at its baseline and 1 at its
        threshold, powder lost 1 at POWDER_LOST_SHARE; never below 0."""
        return [
            round(
                alert_score_combine(
                    1.0,
                    score=0.0,
                    memory=None,
                    change=None if scores is None else scores[t],
                    change_threshold=calibration.threshold,
                    change_baseline=calibration.baseline,
                    powder_lost=None if lost is None else lost[t],
                ).value,
                4,
            )
            for t in range(len(scores if lost is None else lost))
        ]

    good = [scored(seed, threshold=calibration.threshold) for seed in GOOD_JOBS]
    finishing = [scored(seed, calibration.threshold, parts_finish_early=True) for seed in GOOD_JOBS]
    onsets = {seed: defect_onsets(seed) for seed in DEFECT_JOBS}
    defect_jobs = {
        seed: scored(seed, calibration.threshold, defects=onsets[seed], defect_persistence=RECORD_PERSISTENCE)
        for seed in DEFECT_JOBS
    }

    def series(name: str) -> dict:
        return {
            "good_jobs": [job[name] for job in good],
            "good_jobs_parts_finishing": [job[name] for job in finishing],
            "defects": {
                kind: [
                    defect_jobs[seed][name][onset : onset + RECORD_PERSISTENCE]
                    for seed in DEFECT_JOBS
                    for onset, kind_there in onsets[seed].items()
                    if kind_there == kind
                ]
                for kind in DEFECT_KINDS
            },
        }

    record = {
        "scorer": "none",
        "holdout": "jobs",
        "judged": JUDGED_CHANGE_ONLY,
        "stated_layouts": stated_layouts,
        **series(JUDGED_CHANGE_ONLY),
        "variants": {name: series(name) for name in good[0] if name != JUDGED_CHANGE_ONLY},
        "change_calibration": vars(calibration),
        "machine": machine,
        **defect_visibility(machine),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    rates = ", ".join(f"{np.mean(np.array(job[JUDGED_CHANGE_ONLY]) > 1):.1%}" for job in good)
    print(f"wrote {out}: change channel {calibration}; good jobs' layers above the threshold: {rates}")


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
