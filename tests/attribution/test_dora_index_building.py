"""A published DoRA fine-tune gets its attribution indexes: its gradient sketches are those of its low-rank
update (A and B; the magnitudes' gradient is not sketched), as for a LoRA adapter."""

from __future__ import annotations

import json

import pytest

from modelfactory.attribution.models import AdapterSketch
from modelfactory.finetuning.export_services import adapter_directory
from tests.attribution.attribution_support import build_indexes, published_facts_adapter

pytestmark = pytest.mark.django_db


def test_a_published_dora_adapter_gets_its_gradient_sketches(client, use_tiny_base_model):
    published, version, _people = published_facts_adapter(
        client, use_tiny_base_model, max_steps=3, method="dora"
    )
    sketch = AdapterSketch.objects.get(published_model=published)
    assert json.loads((adapter_directory(sketch.job) / "adapter_config.json").read_text())["use_dora"] is True

    build_indexes(published, version)  # asserts both indexes are ready

    sketch.refresh_from_db()
    assert sketch.error == ""
    assert sketch.row_count > 0
    assert sketch.bytes_total > 0
