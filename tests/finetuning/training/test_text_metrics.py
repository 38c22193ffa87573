"""ROUGE-L F1 against values worked out by hand (LCS over lowercase word tokens)."""

from __future__ import annotations

import pytest

from modelfactory.finetuning.training.text_metrics import lcs_length, rouge_l, rouge_l_f1, word_tokens


def test_rouge_l_of_identical_answers_is_one_and_of_disjoint_answers_zero():
    assert rouge_l_f1("The capital of France is Paris.", "The capital of France is Paris.") == 1.0
    assert rouge_l_f1("seven", "eight") == 0.0


def test_rouge_l_ignores_case_and_punctuation():
    assert word_tokens("It's 7, not 8!") == ["it", "s", "7", "not", "8"]
    assert rouge_l_f1("Paris.", "paris") == 1.0


def test_rouge_l_of_one_substituted_word_is_five_sixths():
    # the cat [sat] on the mat / the cat [is] on the mat: LCS "the cat on the mat" = 5 of 6 each side.
    score = rouge_l("the cat sat on the mat", "the cat is on the mat")

    assert score.precision == pytest.approx(5 / 6)
    assert score.recall == pytest.approx(5 / 6)
    assert score.f1 == pytest.approx(5 / 6)


def test_a_short_answer_is_precise_but_recalls_little():
    # LCS "the cat" = 2: precision 2/2, recall 2/4, F1 = 2·1·0.5 / 1.5 = 2/3.
    score = rouge_l("the cat", "the black cat sat")

    assert (score.precision, score.recall) == (1.0, 0.5)
    assert score.f1 == pytest.approx(2 / 3)


def test_rouge_l_counts_words_in_order_only():
    # [mat the on] vs [the on mat]: the longest in-order run is "the on" (2 of 3), not all 3 words.
    assert rouge_l_f1("mat the on", "the on mat") == pytest.approx(2 / 3)


def test_lcs_length_of_the_textbook_example_is_four():
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
    assert lcs_length(list("BDCABA"), list("ABCBDAB")) == 4
    assert lcs_length([], list("ABC")) == 0


def test_an_empty_answer_or_reference_scores_zero():
    assert rouge_l_f1("", "7.") == 0.0
    assert rouge_l_f1("7.", "") == 0.0
    assert rouge_l_f1("...", "!!") == 0.0
