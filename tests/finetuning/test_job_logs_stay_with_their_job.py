"""Two jobs training at once in one worker (a threads pool) each keep only their own log lines."""

from __future__ import annotations

import logging
import threading

from modelfactory.finetuning.services import _LogTail


def test_two_jobs_in_two_threads_of_one_worker_each_keep_only_their_own_lines():
    tails: dict[str, _LogTail] = {}
    both_attached = threading.Barrier(2)

    def train(name: str) -> None:
        tail = _LogTail()
        tail.attach()
        tails[name] = tail
        both_attached.wait()
        for step in range(3):
            logging.getLogger("transformers").warning("%s step %s", name, step)
        both_attached.wait()
        tail.detach()

    threads = [threading.Thread(target=train, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    for name, other in (("first", "second"), ("second", "first")):
        text = tails[name].text()
        assert [f"{name} step {step}" in text for step in range(3)] == [True] * 3
        assert other not in text
