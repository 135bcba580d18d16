"""The layers a scored layer is compared with: the unbroken run of the same layout's layers just
before it. Layout memory (ml.layout_memory) and the change channel (ml.change) each keep such a run,
each deciding by its own key whether two layers show the same layout."""

from __future__ import annotations

from collections.abc import Callable, Mapping


def unbroken_run(
    index: int,
    key: object,
    earlier: list[tuple[int, object, object]],
    *,
    depth: int,
    match: Callable[[object, object], bool],
    stated_layout: str = "",
    stated_layouts: Mapping[int, str] | None = None,
) -> list:
    """What the layers just before `index` left (newest first), as long as each is there and it
    shows the same layout as the layer after it, for at most `depth` layers.

    `earlier`: (index, key, what it left) of previous layers of the job, in any order. Two layers
    show the same layout where `match` says their keys do, or, where the printer stated both
    layers' layouts (`stated_layout` of this one, `stated_layouts` by index of the earlier ones),
    where those are equal: the printer knows when its parts change, and a defect that changes the whole bed's
    look, such as a wide short feed, must not pass for new parts.
    """
    by_index = {i: (k, left) for i, k, left in earlier}
    stated_layouts = stated_layouts or {}
    run, current, current_layout = [], key, stated_layout
    for i in range(index - 1, index - 1 - depth, -1):
        if i not in by_index:
            break
        previous_layout = stated_layouts.get(i, "")
        if current_layout and previous_layout:
            if current_layout != previous_layout:
                break
        elif not match(current, by_index[i][0]):
            break
        (current, left), current_layout = by_index[i], previous_layout
        run.append(left)
    return run
