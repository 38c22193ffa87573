"""The benchmark's inputs: a base model, N adapters in PEFT format, and requests with Zipf popularity.

Three kinds of workload (`Workload.kind`): "requests" (independent prompts, closed loop), "chat"
(conversations of several turns sharing one system prompt, each turn's prompt the whole conversation so
far: what prefix caching is for) and "long-prompt" (streams decoding while long prompts arrive: what
chunked prefill is for); see `scenarios.py` for how the last two are driven.

Adapter files are written directly in PEFT's on-disk format (adapter_config.json + safetensors with
PEFT's key names; PEFT itself loads them in the `peft_*` baselines). N registered names point at
min(N, unique_files) distinct files round-robin, so 5,000 adapters do not need 5,000 files on disk;
every name is still a separate adapter to the engine (its own cache entries, its own cold load).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from inference.lora_layers import find_lora_targets, linear_shape

RANDOM_SHAPES: dict[str, dict] = {
    "tiny": {
        "vocab_size": 256,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    },
    # ~4M parameters: the shape of the project's former self-trained demo base model, which the
    # measurements in docs/engine.md call "the demo shape" (`--random-base demo` there)
    "toy4m": {
        "vocab_size": 4096,
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
    },
    # SmolLM2-135M-Instruct, the default base model (var/models/smollm2-135m-instruct)
    "smollm2": {
        "vocab_size": 49152,
        "hidden_size": 576,
        "intermediate_size": 1536,
        "num_hidden_layers": 30,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
        "tie_word_embeddings": True,
        "max_position_embeddings": 8192,
        "rope_parameters": {"rope_type": "default", "rope_theta": 100000.0},
        "rms_norm_eps": 1e-5,
    },
    "100m": {
        "vocab_size": 32000,
        "hidden_size": 768,
        "intermediate_size": 2048,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "num_key_value_heads": 12,
    },
}


@dataclass
class BenchRequest:
    prompt: list[int]
    adapter: str | None
    max_tokens: int


@dataclass
class BenchConversation:
    """One chat: its adapter, and per turn the user's new tokens and the answer's length."""

    adapter: str | None
    user_turns: list[list[int]]
    max_tokens: list[int]


@dataclass
class Workload:
    base_model: str | None  # a local HF directory, or None for a random model of `random_shape`
    random_shape: str
    seed: int
    threads: int
    concurrency: int
    targets: list[str]
    adapters: dict[str, str]  # name -> directory
    adapter_ranks: dict[str, int]
    requests: list[BenchRequest] = field(default_factory=list)
    kind: str = "requests"  # "requests" | "chat" | "long-prompt"
    system_prompt: list[int] = field(default_factory=list)  # chat: every conversation starts with it
    conversations: list[BenchConversation] = field(default_factory=list)
    long_prompts: list[BenchRequest] = field(default_factory=list)  # long-prompt: arriving while streams run
    long_every_s: float = 1.0  # ... one every this many seconds
    max_prefill_tokens: int | None = 512  # the engine's max_prefill_tokens_per_step

    def save(self, path: Path) -> None:
        path.write_text(self.to_json())

    @staticmethod
    def load(path: Path) -> Workload:
        return Workload.from_json(path.read_text())

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> Workload:
        data = json.loads(text)
        data["requests"] = [BenchRequest(**r) for r in data["requests"]]
        data["conversations"] = [BenchConversation(**c) for c in data.get("conversations", [])]
        data["long_prompts"] = [BenchRequest(**r) for r in data.get("long_prompts", [])]
        return Workload(**data)

    @property
    def vocab_size(self) -> int:
        return build_base_model(self).config.vocab_size


def build_base_model(workload: Workload) -> torch.nn.Module:
    """The same weights in every subprocess: loaded from disk, or random from the seed."""
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    if workload.base_model is not None:
        model = AutoModelForCausalLM.from_pretrained(
            workload.base_model, dtype=torch.float32, attn_implementation="sdpa", local_files_only=True
        )
        return model.eval().requires_grad_(False)
    torch.manual_seed(workload.seed)
    config = LlamaConfig(
        **{
            "max_position_embeddings": 512,
            "tie_word_embeddings": True,
            **RANDOM_SHAPES[workload.random_shape],
        },
        eos_token_id=None,
        bos_token_id=None,
        pad_token_id=0,
        attn_implementation="sdpa",
    )
    return LlamaForCausalLM(config).eval().requires_grad_(False)


def write_adapter_files(
    model: torch.nn.Module, targets: list[str], ranks: list[int], count: int, root: Path, seed: int
) -> list[tuple[Path, int]]:
    """`count` random PEFT-format adapters under `root` (reused when already there); (path, rank) each."""
    modules = {path: linear_shape(m) for path, m in find_lora_targets(model, targets).items()}
    spec = json.dumps([sorted(modules.items()), ranks, count, seed])
    directory = root / hashlib.sha256(spec.encode()).hexdigest()[:12]
    rng = random.Random(seed)
    chosen_ranks = [rng.choice(ranks) for _ in range(count)]
    done = directory / "complete"
    if not done.exists():
        from safetensors.torch import save_file

        generator = torch.Generator().manual_seed(seed)
        for index, rank in enumerate(chosen_ranks):
            adapter_dir = directory / f"adapter-{index:05d}"
            adapter_dir.mkdir(parents=True, exist_ok=True)
            tensors = {}
            for path, (in_features, out_features) in modules.items():
                prefix = f"base_model.model.{path}"
                tensors[f"{prefix}.lora_A.weight"] = (
                    torch.randn(rank, in_features, generator=generator) / in_features**0.5
                )
                tensors[f"{prefix}.lora_B.weight"] = (
                    torch.randn(out_features, rank, generator=generator) * 0.02
                )
            save_file(tensors, str(adapter_dir / "adapter_model.safetensors"))
            config = {
                "peft_type": "LORA",
                "task_type": "CAUSAL_LM",
                "r": rank,
                "lora_alpha": 2 * rank,
                "target_modules": sorted({p.rsplit(".", 1)[-1] for p in modules}),
                "lora_dropout": 0.0,
                "bias": "none",
                "fan_in_fan_out": False,
                "base_model_name_or_path": None,
                "inference_mode": True,
            }
            (adapter_dir / "adapter_config.json").write_text(json.dumps(config))
        done.write_text("ok")
    return [(directory / f"adapter-{i:05d}", rank) for i, rank in enumerate(chosen_ranks)]


def zipf_requests(
    names: list[str],
    count: int,
    alpha: float,
    prompt_lens: tuple[int, int],
    output_lens: tuple[int, int],
    vocab_size: int,
    seed: int,
) -> list[BenchRequest]:
    """Adapter k (1-based popularity rank) is picked with probability proportional to 1 / k^alpha."""
    rng = random.Random(seed)
    weights = [1.0 / (k + 1) ** alpha for k in range(len(names))]
    requests = []
    for _ in range(count):
        adapter = rng.choices(names, weights)[0] if names else None
        prompt = [rng.randrange(vocab_size) for _ in range(rng.randint(*prompt_lens))]
        requests.append(BenchRequest(prompt=prompt, adapter=adapter, max_tokens=rng.randint(*output_lens)))
    return requests


def chat_conversations(
    names: list[str],
    count: int,
    turns: int,
    alpha: float,
    user_lens: tuple[int, int],
    output_lens: tuple[int, int],
    vocab_size: int,
    seed: int,
) -> list[BenchConversation]:
    """`count` conversations of `turns` turns; a conversation talks to one adapter, Zipf-popular."""
    rng = random.Random(seed)
    weights = [1.0 / (k + 1) ** alpha for k in range(len(names))]
    conversations = []
    for _ in range(count):
        adapter = rng.choices(names, weights)[0] if names else None
        users = [[rng.randrange(vocab_size) for _ in range(rng.randint(*user_lens))] for _ in range(turns)]
        outputs = [rng.randint(*output_lens) for _ in range(turns)]
        conversations.append(BenchConversation(adapter=adapter, user_turns=users, max_tokens=outputs))
    return conversations
