"""Budgeted training switches to one thread when the machine is busy, and back when it is idle."""

from __future__ import annotations

import torch

from modelfactory.demo_model.thread_tuning import ThreadCountTuner


def _run(tuner: ThreadCountTuner, steps: range, seconds_by_threads: dict[int, float]) -> list[int]:
    used = []
    for step in steps:
        threads = tuner.threads_for(step)
        tuner.record(step, seconds_by_threads[threads])
        used.append(threads)
    return used


def test_busy_machine_switches_to_one_thread_and_idle_machine_switches_back():
    previous = torch.get_num_threads()
    try:
        tuner = ThreadCountTuner(2, adaptive=True)
        busy = {2: 6.0, 1: 1.6}  # measured on the 2-core dev box with a test run beside it
        _run(tuner, range(20), busy)
        assert tuner.current == 1

        idle = {2: 0.9, 1: 1.5}
        _run(tuner, range(20, 60), idle)
        assert tuner.current == 2
    finally:
        torch.set_num_threads(previous)


def test_fixed_thread_count_never_probes_so_step_budgeted_runs_stay_reproducible():
    previous = torch.get_num_threads()
    try:
        tuner = ThreadCountTuner(2, adaptive=False)
        used = _run(tuner, range(60), {2: 6.0, 1: 1.0})
        assert set(used) == {2}
    finally:
        torch.set_num_threads(previous)
