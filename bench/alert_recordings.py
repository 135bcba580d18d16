"""Recordings for bench/alerts.py to replay: real channels' scores on later jobs of a synthetic machine.

record_scores trains and calibrates a scorer as the product does and records every channel's
scores; record_change_scores records the change and powder-lost channels without a scorer. Each
recording also holds every defect draw's ideal-observer d' (bench.research.visibility).
"""

import json
from pathlib import Path

import numpy as np

LAYERS = 500  # a good job's layers, as the replay stitches them
WITHIN = 3  # the target: a critical alert within 3 layers of a defect's onset
FALSE_CRITICALS_PER_JOB = 0.1  # the target: at most 1 false critical alert in 10 good jobs
RECORD_MACHINE, RECORD_LAYERS, RECORD_PERSISTENCE = 1, 240, 8
PAST_JOBS, PAST_LAYERS = (101, 102, 103, 104), 90  # the machine's earlier jobs, trained on
# Later jobs of the same machine, with new layouts; each defect job has one defect of every kind.
GOOD_JOBS, DEFECT_JOBS = (201, 202, 203), (204, 205, 206, 207, 208, 209)
HOLDOUT_FRACTION = 0.2  # as apps.scoring.training
JUDGED_CHANGE_ONLY = "change and powder lost"  # what --change-only recordings judge
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
    from ml.change.keys import parts_keys, powder_lost_shares
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
        keys = None if change_threshold is None else parts_keys(stack)
        memory = None
        if top_fraction is not None:
            memory = layout_memory_scores(
                result.heatmaps,
                embed_layers(stack),
                top_fraction=top_fraction,
                scores=result.scores,
                threshold=threshold,
                stated_layouts=layouts,
                parts_keys=keys,
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
    from ml.change.keys import parts_keys, powder_lost_shares
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
        change, lost = change_scores(images, threshold, layouts), powder_lost_shares(parts_keys(images))
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
