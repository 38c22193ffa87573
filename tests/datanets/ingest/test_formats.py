"""Each layout detected from its keys and normalized; column mappings for CSV and unknown keys."""

from __future__ import annotations

import pytest

from datanets.ingest import ColumnMapping, MappingInvalid, SourceFormat, detect_format, inspect_upload
from tests.datanets.ingest.upload_files import conversation, csv_file, import_all, jsonl_file, pair


def test_openai_messages_are_detected_and_kept_as_messages(tmp_path):
    path = jsonl_file(tmp_path, [conversation(number, system=True) for number in range(3)])
    preview = inspect_upload(path, filename="chat.jsonl")
    assert preview.detected_format is SourceFormat.OPENAI_MESSAGES
    assert preview.mapping == ColumnMapping(messages="messages")
    assert preview.rows[0].content == conversation(0, system=True)


def test_sharegpt_speakers_become_roles(tmp_path):
    record = {
        "id": "x1",
        "conversations": [
            {"from": "system", "value": "Be kind."},
            {"from": "human", "value": "Hi"},
            {"from": "gpt", "value": "Hello!"},
        ],
    }
    preview = inspect_upload(jsonl_file(tmp_path, [record]), filename="chat.jsonl")
    assert preview.detected_format is SourceFormat.SHAREGPT
    assert "human, gpt and system become" in preview.explanation
    assert preview.rows[0].content == {
        "messages": [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
        ]
    }
    assert preview.ignored_columns == ("id",)


def test_alpaca_input_is_appended_to_the_instruction_after_a_blank_line(tmp_path):
    records = [
        {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
        {"instruction": "Name a prime number.", "input": "", "output": "Seven."},
    ]
    preview = inspect_upload(jsonl_file(tmp_path, records), filename="alpaca.jsonl")
    assert preview.detected_format is SourceFormat.ALPACA
    assert [row.content for row in preview.rows] == [
        {"prompt": "Translate to French.\n\nGood morning", "completion": "Bonjour"},
        {"prompt": "Name a prime number.", "completion": "Seven."},
    ]
    assert "blank line" in preview.explanation


def test_prompt_completion_is_detected(tmp_path):
    preview = inspect_upload(jsonl_file(tmp_path, [pair(1), pair(2)]), filename="pairs.jsonl")
    assert preview.detected_format is SourceFormat.PROMPT_COMPLETION
    assert preview.guess.confidence == 1.0
    assert preview.explanation.startswith("Prompt/completion: 2 of the first 2 records have")


def test_plain_text_is_detected(tmp_path):
    preview = inspect_upload(jsonl_file(tmp_path, [{"text": "Knead the dough."}]), filename="text.jsonl")
    assert preview.detected_format is SourceFormat.TEXT
    assert preview.rows[0].content == {"text": "Knead the dough."}


def test_detection_goes_with_the_majority_and_says_how_many_fit():
    guess = detect_format([pair(1), pair(2), pair(3), {"text": "odd one out"}])
    assert guess.format is SourceFormat.PROMPT_COMPLETION
    assert guess.confidence == 0.75
    assert "The other 1 will be rejected unless you choose another mapping." in guess.explanation


def test_csv_header_names_are_matched_ignoring_case(tmp_path):
    path = csv_file(tmp_path, ["Prompt", "Completion", "Source"], [["Hi?", "Hello.", "web"]])
    preview = inspect_upload(path, filename="rows.csv")
    assert preview.mapping == ColumnMapping(prompt="Prompt", completion="Completion")
    assert preview.columns == ("Prompt", "Completion", "Source")
    assert preview.ignored_columns == ("Source",)


def test_question_answer_columns_are_guessed_with_low_confidence(tmp_path):
    path = csv_file(tmp_path, ["question", "answer"], [["Boiling point of water?", "100 °C at sea level."]])
    preview = inspect_upload(path, filename="faq.csv")
    assert preview.mapping == ColumnMapping(prompt="question", completion="answer")
    assert preview.guess.confidence == 0.5
    assert "Check the mapping before importing" in preview.explanation


def test_unknown_columns_ask_for_a_mapping_and_show_examples(tmp_path):
    path = csv_file(tmp_path, ["q_text", "a_text"], [["Why is the sky blue?", "Rayleigh scattering."]])
    preview = inspect_upload(path, filename="faq.csv")
    assert preview.needs_mapping
    assert preview.rows == ()
    assert preview.examples == ({"q_text": "Why is the sky blue?", "a_text": "Rayleigh scattering."},)
    assert "No known format matches the columns 'q_text', 'a_text'" in preview.explanation


def test_csv_column_mapping_chosen_by_the_user_is_applied(tmp_path):
    path = csv_file(tmp_path, ["q_text", "a_text"], [["Why is the sky blue?", "Rayleigh scattering."]])
    mapping = ColumnMapping(prompt="q_text", completion="a_text")
    preview = inspect_upload(path, filename="faq.csv", mapping=mapping)
    assert preview.rows[0].content == {"prompt": "Why is the sky blue?", "completion": "Rayleigh scattering."}
    rows, _ = import_all(path, mapping=mapping)
    assert rows[0].line == 2


def test_csv_messages_column_holding_json_is_read_as_a_conversation(tmp_path):
    cell = '[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]'
    rows, _ = import_all(csv_file(tmp_path, ["messages"], [[cell]]))
    assert rows[0].content == {
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    }


def test_mapping_from_a_form_treats_blank_choices_as_unchosen():
    mapping = ColumnMapping(prompt="q", completion="a", text="", messages="")
    assert mapping.shape == "prompt_completion"
    assert mapping.columns == {"prompt": "q", "completion": "a"}


@pytest.mark.parametrize("parts", [{"prompt": "q"}, {"prompt": "q", "completion": "a", "text": "t"}, {}])
def test_mapping_that_is_no_complete_row_is_refused_with_the_choices(parts):
    with pytest.raises(MappingInvalid, match="Choose one messages column; or a prompt and a completion"):
        ColumnMapping(**parts)


def test_openai_content_made_of_text_parts_is_joined():
    parts = [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world."}]
    record = {"messages": [{"role": "user", "content": parts}, {"role": "assistant", "content": "Hi."}]}
    from datanets.ingest.formats import normalize_record

    assert (
        normalize_record(record, ColumnMapping(messages="messages"))["messages"][0]["content"]
        == "Hello, world."
    )


def test_alpaca_input_that_first_appears_after_the_sampled_records_is_not_lost(tmp_path):
    records = [{"instruction": f"Say {number}.", "output": str(number)} for number in range(60)]
    records.append({"instruction": "Translate.", "input": "Merci", "output": "Thank you"})
    rows, _ = import_all(jsonl_file(tmp_path, records))
    assert rows[-1].content == {"prompt": "Translate.\n\nMerci", "completion": "Thank you"}
