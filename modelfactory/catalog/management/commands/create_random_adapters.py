"""Publish N random LoRA adapters on the default base model, for load tests and engine benchmarks.

Random (not trained) weights of varied ranks and targets: what matters for serving cost is their
shapes and number, and a load test across many adapters needs many of them in seconds.
"""

from __future__ import annotations

import random
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from modelfactory.accounts.models import User
from modelfactory.catalog.models import BaseModel, PublishedModel

RANKS = (8, 16, 32, 64)
TARGETS = (
    ("q_proj", "v_proj"),
    ("q_proj", "k_proj", "v_proj", "o_proj"),
    ("q_proj", "v_proj", "up_proj", "down_proj"),
)


class Command(BaseCommand):
    help = "Publish N random LoRA adapters (ranks 8-64, attention and MLP targets) named random-0..N-1."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, default=50)
        parser.add_argument("--owner", default="demo")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, count: int, owner: str, seed: int, **options) -> None:
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM

        base = BaseModel.objects.get(is_default=True)
        user = User.objects.get(username=owner)
        rng = random.Random(seed)
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_pretrained(base.source)
        for index in range(count):
            api_name = f"random-{index}"
            directory = Path(settings.VAR_DIR) / "adapters" / api_name
            if not (directory / "adapter_model.safetensors").exists():
                rank = rng.choice(RANKS)
                config = LoraConfig(
                    r=rank,
                    lora_alpha=2 * rank,
                    target_modules=list(rng.choice(TARGETS)),
                    init_lora_weights=False,
                )
                adapted = get_peft_model(model, config)
                adapted.save_pretrained(directory)
                model = adapted.unload()
            PublishedModel.objects.update_or_create(
                api_name=api_name,
                defaults={
                    "title": f"Random adapter {index}",
                    "kind": PublishedModel.Kind.ADAPTER,
                    "base_model": base,
                    "owner": user,
                    "adapter_path": str(directory),
                    "is_live": True,
                    "description": "Random LoRA weights for load tests.",
                },
            )
        self.stdout.write(f"{count} random adapters published on {base.name}")
