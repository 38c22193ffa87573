"""One test per rejection reason: each names the line and says what is wrong in words."""

from __future__ import annotations

import pytest

from datanets.ingest import RowInvalid, check_content
from datanets.row_hashing import content_hash
from tests.datanets.ingest.upload_files import (
    PROMPT_COMPLETION,
    conversation,
    import_all,
    jsonl_file,
    only_rejection,
    pair,
)

CHAT = {"mapping": None}


def third_line(tmp_path, bad, *, first=None, **options):
    """The bad record sits on line 3, after a good row and a blank line, so line numbers are visible."""
    path = jsonl_file(tmp_path, [first or pair(1), "", bad])
    return only_rejection(path, **options)


def test_row_with_empty_prompt_is_rejected_with_its_line_number(tmp_path):
    rejection = third_line(tmp_path, {"prompt": "   ", "completion": "4."})
    assert (rejection.line, rejection.reason) == (3, "'prompt' is empty")
    assert rejection.raw == '{"prompt": "   ", "completion": "4."}'


def test_row_with_null_completion_is_rejected_as_empty(tmp_path):
    rejection = third_line(tmp_path, {"prompt": "Hi?", "completion": None})
    assert (rejection.line, rejection.reason) == (3, "'completion' is empty")


def test_row_without_a_completion_is_rejected_as_missing(tmp_path):
    rejection = third_line(tmp_path, {"prompt": "What is 2 squared?"})
    assert (rejection.line, rejection.reason) == (3, "'completion' is missing")


def test_row_with_a_number_where_text_belongs_is_rejected_naming_the_type(tmp_path):
    rejection = third_line(tmp_path, {"prompt": "What is 6 times 7?", "completion": 42})
    assert rejection.line == 3
    assert rejection.reason == "'completion' must be text, but it is a number (42)"


def test_line_that_is_not_an_object_is_rejected(tmp_path):
    rejection = third_line(tmp_path, '["What is 2 squared?", "4."]')
    assert (rejection.line, rejection.reason) == (3, "is a list, not an object with named fields")


def test_message_with_an_unknown_role_is_rejected(tmp_path):
    bad = {"messages": [{"role": "user", "content": "Weather?"}, {"role": "tool", "content": "{}"}]}
    rejection = third_line(tmp_path, bad, first=conversation(1), **CHAT)
    assert rejection.line == 3
    assert rejection.reason.startswith("message 2 has the role 'tool'; only system, user and assistant")


def test_conversation_with_two_user_turns_in_a_row_is_rejected_for_its_order(tmp_path):
    bad = {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": "Hello?"},
            {"role": "assistant", "content": "Hello."},
        ]
    }
    rejection = third_line(tmp_path, bad, first=conversation(1), **CHAT)
    assert rejection.line == 3
    assert rejection.reason.startswith("message 2 is from the user but should be from the assistant")


def test_conversation_starting_with_the_assistant_is_rejected(tmp_path):
    bad = {"messages": [{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Hello?"}]}
    rejection = third_line(tmp_path, bad, first=conversation(1), **CHAT)
    assert rejection.reason.startswith("message 1 is from the assistant but should be from the user")


def test_conversation_ending_with_the_user_is_rejected(tmp_path):
    bad = {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Bye?"},
        ]
    }
    rejection = third_line(tmp_path, bad, first=conversation(1), **CHAT)
    assert (
        rejection.reason
        == "the conversation ends with a user message; it must end with the assistant's reply"
    )


def test_system_message_after_the_first_is_rejected(tmp_path):
    bad = {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "system", "content": "Be terse."},
            {"role": "assistant", "content": "Hello."},
        ]
    }
    rejection = third_line(tmp_path, bad, first=conversation(1), **CHAT)
    assert rejection.reason == "message 2 is a system message; only the first message may be one"


def test_conversation_of_only_a_system_message_is_rejected(tmp_path):
    bad = {"messages": [{"role": "system", "content": "Be terse."}]}
    rejection = third_line(tmp_path, bad, first=conversation(1), **CHAT)
    assert rejection.reason.startswith("the conversation has only a system message")


def test_message_with_empty_content_is_rejected(tmp_path):
    bad = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]}
    rejection = third_line(tmp_path, bad, first=conversation(1), **CHAT)
    assert rejection.reason == "message 2 (assistant) is empty"


def test_messages_that_are_not_a_list_are_rejected(tmp_path):
    rejection = third_line(tmp_path, {"messages": {"role": "user"}}, first=conversation(1), **CHAT)
    assert rejection.reason == "'messages' must be a list of messages, but it is an object"


def test_message_with_image_parts_is_rejected(tmp_path):
    parts = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "x"}}]
    bad = {"messages": [{"role": "user", "content": parts}, {"role": "assistant", "content": "A cat."}]}
    rejection = third_line(tmp_path, bad, first=conversation(1), **CHAT)
    assert rejection.reason.startswith("message 1 (user) has parts other than text")


def test_line_with_invalid_utf8_is_rejected_with_the_byte_offset(tmp_path):
    rejection = third_line(tmp_path, b'{"prompt": "caf\xe9", "completion": "yes"}')
    assert rejection.line == 3
    assert rejection.reason == "invalid UTF-8 at byte 16 of the line (0xe9); save the file as UTF-8"
    assert "caf\ufffd" in rejection.raw


def test_malformed_json_line_is_rejected_with_the_parsers_message(tmp_path):
    rejection = third_line(tmp_path, '{"prompt": "Hi", "completion": "Hello",}')
    assert rejection.line == 3
    assert rejection.reason == "not valid JSON: Expecting property name enclosed in double quotes (column 40)"


def test_row_over_the_token_limit_is_rejected_with_both_numbers(tmp_path):
    long_row = {"prompt": "Tell me a story.", "completion": "Once upon a time " * 100}
    rejection = third_line(tmp_path, long_row, max_tokens=1_000)
    assert rejection.line == 3
    assert rejection.reason.startswith("has 1,717 tokens, over the limit of 1,000")


def test_row_already_in_the_datanet_is_rejected_as_a_duplicate(tmp_path):
    existing = frozenset({content_hash(pair(7))})
    rejection = third_line(tmp_path, pair(7), existing_hashes=existing)
    assert (rejection.line, rejection.reason) == (3, "exact duplicate of a row already in this datanet")


def test_repeat_of_an_earlier_row_in_the_same_file_names_the_first_line(tmp_path):
    rejection = third_line(tmp_path, pair(1))
    assert (rejection.line, rejection.reason) == (3, "exact duplicate of line 1 in this file")


def test_copy_of_an_over_limit_row_gets_the_same_reason_not_duplicate(tmp_path):
    long_row = {"prompt": "Story?", "completion": "Once upon a time " * 100}
    _, rejections = import_all(jsonl_file(tmp_path, [long_row, long_row]), max_tokens=100)
    assert [rejection.reason.split(",")[0] for rejection in rejections] == ["has 1", "has 1"]


def test_text_with_a_nul_character_is_rejected_because_it_cannot_be_stored(tmp_path):
    rejection = third_line(tmp_path, {"prompt": "a\u0000b", "completion": "c"})
    assert rejection.reason.startswith("'prompt' contains a NUL character")


def test_text_with_an_unpaired_surrogate_is_rejected_as_not_unicode(tmp_path):
    rejection = third_line(tmp_path, '{"prompt": "a\\ud800b", "completion": "c"}')
    assert rejection.reason == "'prompt' contains an unpaired surrogate (\\ud800), which is not valid Unicode"


def test_rows_missing_the_mapped_columns_are_rejected_by_name(tmp_path):
    path = jsonl_file(tmp_path, [pair(1), {"text": "Just some text."}])
    rejection = only_rejection(path, mapping=PROMPT_COMPLETION)
    assert (rejection.line, rejection.reason) == (2, "'prompt' is missing")


@pytest.mark.parametrize(
    "content",
    [
        {"prompt": "Hi", "completion": "Hello", "extra": "x"},
        {
            "messages": [
                {"role": "user", "content": "Hi", "name": "bob"},
                {"role": "assistant", "content": "Yo"},
            ]
        },
        {"text": 5},
        [],
    ],
)
def test_check_content_refuses_anything_but_an_exact_normalized_shape(content):
    with pytest.raises(RowInvalid):
        check_content(content)


def test_check_content_accepts_each_normalized_shape():
    for content in (pair(1), conversation(2, system=True), {"text": "Plain prose."}):
        check_content(content)
