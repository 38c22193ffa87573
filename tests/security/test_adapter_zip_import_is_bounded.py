"""An adapter zip cannot exhaust the web process, or a worker, whatever its bytes say.

The attack: the import page read the whole upload into memory, checked the 2 GB limit only after that,
and decompressed each member fully into memory, in the web process that also serves every answer: a 5 MB
zip of 5 GB of zeros killed it. Now the upload is a file on disk, the zip's directory is checked before a
byte is decompressed (declared sizes, each and in total, and compression ratios), members are streamed to
disk never past their declared size, weights are parsed from the file header first with ranks bounded,
and the unpacking runs on a worker while the page follows it.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import pytest

from modelfactory.catalog.adapter_import import (
    AdapterImportRefused,
    extract_member,
    module_shapes,
    served_module_shapes,
)
from modelfactory.catalog.models import AdapterImport, BaseModel, PublishedModel
from tests.finetuning.jobs_support import register_tiny
from tests.support.adapter_imports import import_and_run, post_import
from tests.support.factories import make_user
from tests.support.lora_files import random_pairs, write_adapter, zipped
from tests.support.processes import wait_until
from tests.support.workers import app_broker, celery_worker, worker_log
from tests.support.zip_files import MEBIBYTE, RawMember, deflated, deflated_zeros, raw_zip

CONFIG = deflated("adapter_config.json", b'{"peft_type": "LORA", "r": 4, "lora_alpha": 8}')


@pytest.fixture
def importer(client):
    user = make_user("importer")
    client.force_login(user)
    return user


@pytest.fixture
def base():
    return BaseModel.objects.create(
        name="some-base", source="/nowhere", architecture="LlamaForCausalLM", model_type="llama"
    )


def files_left(settings) -> list[str]:
    """Whatever an import left on disk: uploaded zips, unpacked or staging adapter folders."""
    return [
        str(path.relative_to(settings.VAR_DIR))
        for folder in ("adapter-imports", "adapters")
        if (settings.VAR_DIR / folder).exists()
        for path in (settings.VAR_DIR / folder).rglob("*")
    ]


@pytest.mark.django_db
def test_a_zip_bomb_adapter_is_refused_from_its_directory_before_anything_is_decompressed(
    client, importer, base, settings
):
    five_gigabytes = raw_zip(
        [CONFIG, RawMember("adapter_model.safetensors", deflated_zeros(5120), 5120 * MEBIBYTE)]
    )
    one_gigabyte = raw_zip(
        [CONFIG, RawMember("adapter_model.safetensors", deflated_zeros(1024), 1024 * MEBIBYTE)]
    )
    # The same directory over data that is not deflate at all: decompressing anything would fail otherwise.
    undecompressible = raw_zip(
        [CONFIG, RawMember("adapter_model.safetensors", b"\xff" * 1_048_000, 1024 * MEBIBYTE)]
    )
    assert len(five_gigabytes) < 6 * MEBIBYTE

    over_the_limit = post_import(client, "bomb", five_gigabytes, base).content.decode()
    too_compressed = post_import(client, "bomb", one_gigabyte, base).content.decode()
    never_inflated = post_import(client, "bomb", undecompressible, base).content.decode()

    assert (
        "adapter_model.safetensors declares 5,120.0 MB once unpacked; the limit is 2,048.0 MB"
        in over_the_limit
    )
    refused_as_bomb = (
        "more than 100 times: adapter weights barely compress, so this is refused as a decompression bomb"
    )
    assert refused_as_bomb in too_compressed
    assert refused_as_bomb in never_inflated  # the verdict came from the directory alone
    assert not AdapterImport.objects.exists()
    assert files_left(settings) == []
    assert not PublishedModel.objects.filter(api_name="bomb").exists()


@pytest.mark.django_db
def test_the_import_form_taking_files_on_disk_still_requires_its_csrf_token(base, settings):
    """The view picks Django's on-disk upload handler before the body is read, so it checks CSRF itself,
    after that (it is exempt from the middleware's check): a forged cross-site post is still refused."""
    from django.test import Client

    forged = Client(enforce_csrf_checks=True)
    forged.force_login(make_user("victim"))
    honest = raw_zip([CONFIG, deflated("adapter_model.safetensors", bytes(64))])

    response = post_import(forged, "forged", honest, base)

    assert response.status_code == 403
    assert not AdapterImport.objects.exists()


@pytest.mark.django_db
def test_a_zip_whose_members_together_declare_more_than_the_limit_is_refused(
    client, importer, base, settings
):
    settings.MODELFACTORY_ADAPTER_IMPORT_MAX_BYTES = 5 * MEBIBYTE // 2
    two_letters = bytes.maketrans(bytes(range(256)), b"ab" * 128)
    # 1 MiB each (under the limit), compressed about 7 times (an ordinary ratio): the total gives it away.
    shards = [deflated(f"shard-{i}.txt", os.urandom(MEBIBYTE).translate(two_letters)) for i in range(3)]

    page = post_import(client, "many", raw_zip([CONFIG, *shards]), base).content.decode()

    assert "files declare 3.0 MB once unpacked; the limit is 2.5 MB" in page
    assert not AdapterImport.objects.exists()
    assert files_left(settings) == []


@pytest.mark.django_db
def test_a_member_larger_than_it_declares_is_cut_off_at_its_declared_size(
    client, importer, base, settings, tmp_path
):
    # A directory entry saying 4 KB for data that inflates to 1 GiB: the sizes were edited after zipping.
    lying = RawMember(
        "adapter_model.safetensors", deflated_zeros(1024), 4096, crc=zlib.crc32(bytes(1024 * MEBIBYTE))
    )
    path = tmp_path / "lying.zip"
    path.write_bytes(raw_zip([CONFIG, lying]))
    target = tmp_path / "unpacked.safetensors"

    with zipfile.ZipFile(path) as archive:
        entry = archive.getinfo("adapter_model.safetensors")
    cut_off = (
        "adapter_model.safetensors holds more than the 4,096 bytes its zip entry declares; it was cut off"
    )

    with pytest.raises(AdapterImportRefused, match=cut_off):
        extract_member(path, entry, target, deadline=float("inf"))
    ended = import_and_run(client, "liar", path.read_bytes(), base)  # and the same on the worker

    assert target.stat().st_size == 4096  # what reached the disk: the declared size, not a gigabyte
    assert ended.status == AdapterImport.Status.FAILED
    assert cut_off in ended.error
    assert not PublishedModel.objects.filter(api_name="liar").exists()
    assert files_left(settings) == []


@pytest.mark.django_db
def test_an_adapter_above_the_served_rank_is_refused_from_its_header(
    client, importer, use_tiny_base_model, tmp_path
):
    tiny = register_tiny(use_tiny_base_model)
    shapes = {name: shape for name, shape in module_shapes(tiny.source).items() if name.endswith("q_proj")}
    folder = write_adapter(tmp_path / "wide", random_pairs(shapes, rank=128, seed=3), rank=8, alpha=16)

    ended = import_and_run(client, "wide", zipped(folder), tiny)  # its config claims rank 8

    assert ended.status == AdapterImport.Status.FAILED
    assert "has rank 128; adapters of rank up to 64 are served here" in ended.error


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
def test_the_import_runs_on_a_worker_while_the_page_follows_it(
    client, importer, use_tiny_base_model, settings, redis_url, tmp_path
):
    tiny = register_tiny(use_tiny_base_model)
    folder = write_adapter(
        tmp_path / "fine", random_pairs(served_module_shapes(tiny.source), rank=4, seed=5), rank=4, alpha=8
    )
    log = tmp_path / "worker.log"

    with (
        app_broker(redis_url),
        celery_worker(redis_url, log, name="importer", env={"MODELFACTORY_VAR_DIR": str(settings.VAR_DIR)}),
    ):
        response = post_import(client, "fine-import", zipped(folder), tiny)
        status_url = response["Location"]
        waiting = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
        try:
            wait_until(
                lambda: AdapterImport.objects.get().status not in AdapterImport.ACTIVE,
                timeout_s=120,
                what="the worker to import the adapter",
            )
        except TimeoutError:
            pytest.fail(worker_log(log))

    started = AdapterImport.objects.get()
    assert started.status == AdapterImport.Status.IMPORTED, (started.error, worker_log(log))
    assert 'hx-trigger="every 1s"' in waiting or "Imported as" in waiting
    done = client.get(status_url).content.decode()
    assert 'href="/models/fine-import/"' in done
    assert "hx-trigger" not in done
    published = PublishedModel.objects.get(api_name="fine-import")
    assert published.adapter_path == str(settings.VAR_DIR / "adapters" / f"import-{started.pk}")
    assert not any("adapter-imports" in left and left.endswith(".zip") for left in files_left(settings))


@pytest.mark.django_db
def test_two_imports_racing_for_one_name_never_write_into_each_others_weights(
    client, importer, use_tiny_base_model, tmp_path
):
    """Both are accepted while the name is free; they unpack into folders of their own import, so the one
    refused at publishing cannot have overwritten the weights the other now serves."""
    from modelfactory.catalog.services import adapter_import_run
    from tests.support.adapter_imports import import_form

    tiny = register_tiny(use_tiny_base_model)
    shapes = served_module_shapes(tiny.source)  # the engine serves no lm_head LoRA
    first, second = (
        write_adapter(tmp_path / name, random_pairs(shapes, rank=4, seed=seed), rank=4, alpha=8)
        for name, seed in (("first", 1), ("second", 2))
    )
    for folder in (first, second):
        assert (
            client.post("/models/import/", import_form("contested", zipped(folder), tiny)).status_code == 302
        )
    winner, loser = AdapterImport.objects.order_by("pk")

    adapter_import_run(import_id=winner.pk)
    adapter_import_run(import_id=loser.pk)

    winner.refresh_from_db()
    loser.refresh_from_db()
    assert (winner.status, loser.status) == (AdapterImport.Status.IMPORTED, AdapterImport.Status.FAILED)
    assert loser.error == "the API name 'contested' is taken; choose another"
    served = Path(PublishedModel.objects.get(api_name="contested").adapter_path)
    assert (served / "adapter_model.safetensors").read_bytes() == (
        first / "adapter_model.safetensors"
    ).read_bytes()
