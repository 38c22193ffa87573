"""A datanet takes rows of the format it expects; others are refused, row by row, with the reason."""

from __future__ import annotations

import json

import pytest

from datanets.errors import DatanetInvalid
from datanets.ingest import RowInvalid, check_format, inspect_upload
from datanets.models import Row, Upload
from datanets.row_formats import format_mismatch, row_as_messages, row_format_of, row_text
from datanets.services import datanet_create, row_contribute
from tests.datanets.upload_steps import import_upload, jsonl, upload_file, visible_text
from tests.support.factories import make_datanet, make_user

CHAT = {"messages": [{"role": "user", "content": "Hello?"}, {"role": "assistant", "content": "Hi."}]}
PAIR = {"prompt": "What is a heron?", "completion": "A wading bird."}
NOTES = [{"text": f"Field note {i}: a heron stood in the reeds at dawn."} for i in range(3)]


def test_each_shape_of_content_is_named_by_its_format():
    assert [row_format_of(content) for content in (CHAT, PAIR, {"text": "x"})] == [
        "messages",
        "prompt_completion",
        "text",
    ]


def test_a_row_is_read_the_same_way_as_content_and_as_an_exported_line():
    exported = {"row_id": 7, "messages": None, "prompt": None, "completion": None, "text": None}
    for content in (CHAT, PAIR, {"text": "A heron."}):
        line = {**exported, **content}
        assert row_format_of(line) == row_format_of(content)
        assert row_as_messages(line) == row_as_messages(content)
        assert row_text(line) == row_text(content)
    assert row_as_messages(PAIR) == [
        {"role": "user", "content": "What is a heron?"},
        {"role": "assistant", "content": "A wading bird."},
    ]
    assert row_as_messages({"text": "A heron."}) is None
    assert [row_text(content) for content in (CHAT, PAIR)] == [
        "Hello?\nHi.",
        "What is a heron?\nA wading bird.",
    ]


def test_a_mismatch_names_what_the_row_is_and_what_the_datanet_takes():
    assert format_mismatch(CHAT, "text") == (
        "is a chat conversation (messages), but this datanet takes plain text rows only"
    )
    assert format_mismatch(PAIR, "prompt_completion") is None
    assert format_mismatch(PAIR, "") is None  # datanets made before formats take any
    with pytest.raises(RowInvalid, match="takes chat conversations"):
        check_format(PAIR, "messages")


def test_the_preview_shows_rows_of_another_format_as_rejections_before_anything_is_written(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(NOTES[0]) + "\n" + json.dumps(NOTES[1]) + "\n")

    preview = inspect_upload(str(path), filename="mixed.jsonl", expected_format="messages")

    assert preview.rows == ()
    assert [rejection.line for rejection in preview.rejections] == [1, 2]
    assert "takes chat conversations (messages) only" in preview.rejections[0].reason


@pytest.mark.django_db
def test_upload_rejects_chat_rows_in_a_text_datanet_and_keeps_the_datanet_unchanged(client):
    owner = make_user("naturalist")
    datanet = datanet_create(
        owner=owner, title="Field notes", tags=[], license="CC0-1.0", expected_format="text"
    )
    client.force_login(make_user("birder"))
    chats = [
        {"messages": [*CHAT["messages"][:1], {"role": "assistant", "content": f"Hi {i}."}]} for i in range(3)
    ]
    up = upload_file(client, datanet, "chats.jsonl", jsonl(chats))

    preview = visible_text(client.get(f"/datanets/{datanet.slug}/uploads/{up.pk}/").content.decode())
    import_upload(client, up, mode="all_or_nothing", messages="messages")

    up.refresh_from_db()
    assert "line 1 : is a chat conversation (messages), but this datanet takes plain text rows" in preview
    assert (up.status, up.rejected_count) == (Upload.Status.DISCARDED, 3)
    assert datanet.rows.count() == 0
    rejected = b"".join(
        client.get(f"/datanets/{datanet.slug}/uploads/{up.pk}/rejected.jsonl").streaming_content
    )
    lines = [json.loads(line) for line in rejected.decode().splitlines()]
    assert [line["line"] for line in lines] == [1, 2, 3]
    assert all("takes plain text rows only" in line["reason"] for line in lines)


@pytest.mark.django_db
def test_one_chat_row_among_text_rows_sinks_an_all_or_nothing_upload(client):
    owner = make_user("marsh_owner")
    datanet = datanet_create(owner=owner, title="Marsh", tags=[], license="CC0-1.0", expected_format="text")
    client.force_login(owner)
    up = upload_file(client, datanet, "notes.jsonl", jsonl([NOTES[0], CHAT, NOTES[1]]))

    import_upload(client, up, mode="all_or_nothing", text="text")

    up.refresh_from_db()
    assert (up.status, up.rejected_count) == (Upload.Status.DISCARDED, 1)
    assert datanet.rows.count() == 0


@pytest.mark.django_db
def test_importing_the_valid_rows_keeps_only_rows_of_the_expected_format(client):
    owner = make_user("reed_owner")
    datanet = datanet_create(owner=owner, title="Reeds", tags=[], license="CC0-1.0", expected_format="text")
    client.force_login(owner)
    up = upload_file(client, datanet, "notes.jsonl", jsonl([*NOTES, {"messages": CHAT["messages"]}]))

    import_upload(client, up, mode="valid_rows", text="text")

    up.refresh_from_db()
    assert (up.status, up.accepted_count, up.rejected_count) == (Upload.Status.IMPORTED, 3, 1)
    assert set(datanet.rows.values_list("format", flat=True)) == {Row.Format.TEXT}


@pytest.mark.django_db
def test_the_single_row_form_refuses_a_row_of_another_format_with_the_reason(client):
    owner = make_user("chat_owner")
    datanet = datanet_create(
        owner=owner, title="Greetings", tags=[], license="CC-BY-4.0", expected_format="messages"
    )
    client.force_login(make_user("greeter"))

    form_page = client.get(f"/datanets/{datanet.slug}/contribute/").content.decode()
    refused = client.post(
        f"/datanets/{datanet.slug}/contribute/", {"kind": "text", "text": "Just some text, no conversation."}
    )
    accepted = client.post(
        f"/datanets/{datanet.slug}/contribute/", {"kind": "messages", "user": "Hello?", "assistant": "Hi."}
    )

    assert '<option value="messages" selected>' in form_page  # the form starts on the expected format
    assert "is plain text, but this datanet takes chat conversations (messages) only" in visible_text(
        refused.content.decode()
    )
    assert accepted.status_code == 302
    assert list(datanet.rows.values_list("format", flat=True)) == [Row.Format.MESSAGES]


@pytest.mark.django_db
def test_a_datanet_made_before_formats_were_checked_takes_every_format():
    datanet = make_datanet()  # created without an expected format, as the seed datanets are
    contributor = make_user()

    row_contribute(datanet=datanet, contributor=contributor, content=CHAT)
    row_contribute(datanet=datanet, contributor=contributor, content=PAIR)

    assert datanet.expected_format == ""
    assert sorted(datanet.rows.values_list("format", flat=True)) == ["messages", "prompt_completion"]


@pytest.mark.django_db
def test_creating_a_datanet_needs_one_of_the_three_formats():
    with pytest.raises(DatanetInvalid, match="choose the row format"):
        datanet_create(owner=make_user(), title="Shapeless", tags=[], license="MIT", expected_format="")
