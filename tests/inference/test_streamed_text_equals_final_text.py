"""The streamed pieces add up to the final text, also when a stop string spans tokens: text that might
start a stop string is held back, then given out or cut, never taken back."""

from __future__ import annotations

import pytest

from inference.engine import Engine
from inference.request import Request
from inference.sampling import SamplingParams
from inference.stop_strings import find_stop, held_back_length
from tests.inference.factories import tiny_llama

PROMPT = [12, 200, 31, 7]
SAMPLED = {"temperature": 1.0, "seed": 7, "ignore_eos": True}  # varied text, the same at every run


class PieceTokenizer:
    """Token i is a piece of one to three letters, so stop strings can start inside a token."""

    eos_token_id = None

    @staticmethod
    def piece(token: int) -> str:
        return "".join(chr(ord("a") + (token * 7 + offset) % 26) for offset in range(1 + token % 3))

    def __call__(self, text: str) -> dict:
        return {"input_ids": [ord(char) % 256 for char in text]}

    def decode(self, token_ids: list[int], skip_special_tokens: bool = True) -> str:
        return "".join(self.piece(token) for token in token_ids)


@pytest.fixture(scope="module")
def engine():
    engine = Engine(tiny_llama(seed=0), tokenizer=PieceTokenizer(), enable_lora=False, kv_cache_bytes=1 << 20)
    yield engine
    engine.close()


def _run(engine: Engine, **sampling):
    handle = engine.submit(
        Request(prompt_token_ids=PROMPT, sampling=SamplingParams(**{**SAMPLED, **sampling}))
    )
    engine.run_until_idle()
    completion = handle.result(timeout=0)
    return completion, [event.text for event in handle]


def _free(engine: Engine, max_tokens: int = 24):
    completion, _ = _run(engine, max_tokens=max_tokens)
    boundaries, length = [], 0
    for token in completion.token_ids[:-1]:
        length += len(PieceTokenizer.piece(token))
        boundaries.append(length)
    return completion, boundaries


def test_stop_strings_spanning_tokens_never_leak_into_the_stream(engine):
    free, boundaries = _free(engine)
    # around token boundaries: the last letter of one piece and the first of the next, or longer spans
    # that start inside a piece of two or three letters
    stops = {free.text[b - 1 : b + 1] for b in boundaries[2::3]} | {
        free.text[b - 2 : b + 3] for b in boundaries[3::4]
    }
    assert len(stops) >= 4

    for stop in sorted(stops):
        completion, deltas = _run(engine, max_tokens=24, stop=(stop,))
        assert completion.finish_reason == "stop"
        assert completion.text == free.text[: free.text.find(stop)]
        assert "".join(deltas) == completion.text, f"stop {stop!r}"
        assert stop not in completion.text


def test_with_several_stop_strings_the_earliest_match_cuts(engine):
    free, boundaries = _free(engine)
    late, early = (
        free.text[boundaries[8] - 1 : boundaries[8] + 2],
        free.text[boundaries[3] - 1 : boundaries[3] + 1],
    )
    completion, deltas = _run(engine, max_tokens=24, stop=(late, early))
    cut = min(free.text.find(late), free.text.find(early))
    assert completion.text == "".join(deltas) == free.text[:cut]
    assert late not in completion.text
    assert early not in completion.text


def test_a_held_back_tail_that_never_becomes_a_stop_is_flushed_at_the_end(engine):
    free, _ = _free(engine, max_tokens=12)
    tail = PieceTokenizer.piece(free.token_ids[-2]) + PieceTokenizer.piece(free.token_ids[-1])
    completion, deltas = _run(engine, max_tokens=12, stop=(tail + "#",))  # '#' is never generated
    assert completion.finish_reason == "length"
    assert completion.text == "".join(deltas) == free.text
    assert deltas[-1].endswith(tail)
    assert deltas[-2] == ""  # held back a step, given out at the end


def test_a_stop_token_ends_the_answer_and_flushes_the_held_tail(engine):
    free, _ = _free(engine, max_tokens=12)
    end = next(i for i, token in enumerate(free.token_ids) if i >= 4 and token not in free.token_ids[:i])
    before = PieceTokenizer.piece(free.token_ids[end - 1])
    completion, deltas = _run(
        engine, max_tokens=12, stop=(before + "#",), stop_token_ids=(free.token_ids[end],)
    )
    assert completion.finish_reason == "stop"
    assert (
        completion.text == "".join(deltas) == free.text[: len(PieceTokenizer().decode(free.token_ids[:end]))]
    )
    assert deltas[-1].endswith(before)


def test_a_cancelled_answer_keeps_the_text_that_was_streamed(engine):
    free, _ = _free(engine)
    tail = PieceTokenizer.piece(free.token_ids[5])
    handle = engine.submit(
        Request(
            prompt_token_ids=PROMPT, sampling=SamplingParams(**SAMPLED, max_tokens=24, stop=(tail + "#",))
        )
    )
    generated = engine.stats()["generated_tokens"]
    while engine.stats()["generated_tokens"] < generated + 6:
        engine.step()  # the sixth token's piece is now held back: it might start the stop string
    handle.cancel()
    engine.run_until_idle()
    deltas = [event.text for event in handle]
    assert handle.completion.finish_reason == "cancelled"
    assert handle.completion.text == "".join(deltas) == PieceTokenizer().decode(free.token_ids[:5])


def test_the_held_back_part_is_the_longest_end_that_could_still_become_a_stop():
    assert held_back_length("the E", ("END",)) == 1
    assert held_back_length("the EN", ("END", "NEXT")) == 2
    assert held_back_length("the ENx", ("END",)) == 0
    assert held_back_length("abc", ("bcd", "cz")) == 2
    assert find_stop("xxENDyyEND", ("END",), new_from=3) == 2
    assert find_stop("xxENDy", ("Dy", "END"), new_from=4) == 2
    assert find_stop("xxE", ("END",), new_from=2) is None
