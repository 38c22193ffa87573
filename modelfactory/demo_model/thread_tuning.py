"""Choose, while training, whether one or all CPU cores make a training step faster.

On an idle 2-core machine two intra-op threads are ~1.7x faster than one. But when anything else
is busy on the machine (a test run, the web server, a Celery worker), PyTorch's threads wait for
each other at every barrier and a step with two threads becomes ~4x *slower* than with one
(measured: 6-8 s vs 1.6 s per demo step). The demo build runs beside other work, so a fixed
thread count is wrong in one case or the other; instead a few steps are timed now and then with
the alternative count, and the faster one is kept.
"""

from __future__ import annotations

import statistics
from collections import deque

import torch

# The first probe comes early (step 3) so that a busy machine is noticed at once; later ones come
# after this many seconds of training: rare enough to cost a few percent when the probe is the
# slow choice, frequent enough to react within ~20 s to a test run starting mid-build.
FIRST_PROBE_STEP = 3
PROBE_INTERVAL_S = 15.0
# The alternative must beat the current choice by this factor before we switch, to avoid
# flapping on noise.
SWITCH_MARGIN = 0.9


class ThreadCountTuner:
    """Tells the training loop how many threads to use for each step, from measured step times."""

    def __init__(self, preferred: int, *, adaptive: bool) -> None:
        self.current = preferred
        self._alternative = 1 if preferred > 1 else None
        self._adaptive = adaptive and self._alternative is not None
        self._current_times: deque[float] = deque(maxlen=5)
        self._seconds_since_probe = 0.0
        self._probing = False

    def threads_for(self, step: int) -> int:
        """Thread count for the 0-based ``step``; also applies it with ``torch.set_num_threads``."""
        self._probing = self._adaptive and (
            step == FIRST_PROBE_STEP
            or (step > FIRST_PROBE_STEP and self._seconds_since_probe >= PROBE_INTERVAL_S)
        )
        threads = self._alternative if self._probing else self.current
        assert threads is not None
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return threads

    def record(self, step: int, seconds: float) -> None:
        """Feed back how long ``step`` took; switches the thread count after a faster probe."""
        if not self._adaptive or step == 0:  # step 0 pays one-off allocation costs
            return
        if not self._probing:
            self._current_times.append(seconds)
            self._seconds_since_probe += seconds
            return
        self._seconds_since_probe = 0.0
        if self._current_times and seconds < SWITCH_MARGIN * statistics.median(self._current_times):
            self.current, self._alternative = self._alternative, self.current  # type: ignore[assignment]
            self._current_times.clear()
            self._current_times.append(seconds)
