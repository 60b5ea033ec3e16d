"""Independent pieces of work (refuter replicates, specification-curve fits) and one way to run them.

A :class:`Task` is a module-level function and its arguments, so it pickles: an executor running tasks
in other processes (or on Ray) needs nothing else. Each task carries its own seed in its arguments and
catches its own failures (it returns them as data), so the order or place in which tasks run never
changes a number. :func:`run_tasks` maps them in this process, in order; it is the one place a
parallel executor plugs in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

#: on_progress(finished, total, label of the task just finished)
TaskProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Task:
    """``fn(*args, **kwargs)``: ``fn`` must be importable by name (a module-level function) to pickle."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


def run_tasks(tasks: Sequence[Task], on_progress: TaskProgress | None = None) -> list[Any]:
    """Every task's return value, in the order of ``tasks`` (in-process for now)."""
    out = []
    for i, task in enumerate(tasks):
        out.append(task())
        if on_progress is not None:
            on_progress(i + 1, len(tasks), task.label)
    return out
