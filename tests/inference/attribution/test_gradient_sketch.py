"""Gradient-influence sketches: LoGra-projected LoRA gradients of tiny real PEFT models, and their scoring."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model

from inference.attribution.gradient_sketch import (
    LoraGradientProjector,
    ModuleProjection,
    SketchConfig,
    lora_linear_layers,
)
from inference.attribution.influence import (
    DEFAULT_METHOD,
    GradientSketches,
    SketchCorrupt,
    SketchMismatch,
    adapter_fingerprint,
    build_sketches,
)
from tests.inference.factories import ATTENTION, MLP, tiny_gpt2, tiny_llama

torch.set_num_threads(1)

Row = tuple[int, list[int], list[int]]


def lora_model(base: torch.nn.Module, config: LoraConfig, *, seed: int = 1, b_std: float = 0.2) -> PeftModel:
    """A PEFT LoRA adapter on `base` with random A and random (non-zero) B, so gradients are non-trivial."""
    torch.manual_seed(seed)
    model = get_peft_model(base, config)
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "lora_B") and "default" in module.lora_B:
                module.lora_B["default"].weight.normal_(0, b_std)
    return model.eval()


def llama_lora(seed: int = 1, b_std: float = 0.2, *, dora: bool = False) -> PeftModel:
    """Attention and MLP targets with three different ranks."""
    config = LoraConfig(
        r=8,
        rank_pattern={"gate_proj": 4, "down_proj": 2},
        target_modules=ATTENTION + MLP,
        init_lora_weights=False,
        lora_dropout=0.0,
        use_dora=dora,
    )
    return lora_model(tiny_llama(seed=0), config, seed=seed, b_std=b_std)


def gpt2_lora(seed: int = 1, *, dora: bool = False) -> PeftModel:
    """GPT-2's fused Conv1D layers (weights stored in×out: PEFT's fan_in_fan_out)."""
    config = LoraConfig(
        r=4,
        rank_pattern={"c_fc": 6},
        target_modules=["c_attn", "c_fc"],
        fan_in_fan_out=True,
        init_lora_weights=False,
        lora_dropout=0.0,
        use_dora=dora,
    )
    return lora_model(tiny_gpt2(seed=0), config, seed=seed)


def with_perturbed_magnitudes(model: PeftModel, seed: int = 7) -> PeftModel:
    """The DoRA adapter with magnitudes m off their initial ‖W + s·B·A‖ (m/‖·‖ ≠ 1, as after training)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "lora_magnitude_vector") and "default" in module.lora_magnitude_vector:
                magnitude = module.lora_magnitude_vector["default"].weight
                magnitude.mul_(1 + 0.3 * torch.randn(magnitude.shape, generator=generator))
    return model


def llama_dora(seed: int = 1) -> PeftModel:
    """llama_lora's adapter shape as a DoRA adapter (PEFT use_dora=True), magnitudes perturbed."""
    return with_perturbed_magnitudes(llama_lora(seed, dora=True))


def gpt2_dora(seed: int = 1) -> PeftModel:
    """gpt2_lora's adapter (Conv1D bases, fan_in_fan_out) as a DoRA adapter, magnitudes perturbed."""
    return with_perturbed_magnitudes(gpt2_lora(seed, dora=True))


def after_random_prompt(generator: torch.Generator, answer: list[int]) -> tuple[list[int], list[int]]:
    """(input_ids, labels): 4-16 random prompt tokens (labels -100) then the answer."""
    prompt_length = int(torch.randint(4, 17, (1,), generator=generator))
    prompt = torch.randint(0, 256, (prompt_length,), generator=generator).tolist()
    return prompt + answer, [-100] * prompt_length + answer


def training_rows(count: int, seed: int = 0) -> tuple[list[Row], list[tuple[list[int], list[int]]]]:
    """`count` (row_id, input_ids, labels) rows, and for each a near-duplicate: its answer, another prompt."""
    generator = torch.Generator().manual_seed(seed)
    rows, near_duplicates = [], []
    for row_id in range(count):
        answer_length = int(torch.randint(4, 13, (1,), generator=generator))
        answer = torch.randint(0, 256, (answer_length,), generator=generator).tolist()
        rows.append((1000 + row_id, *after_random_prompt(generator, answer)))
        near_duplicates.append(after_random_prompt(generator, answer))
    return rows, near_duplicates


def autograd_lora_gradients(
    model: PeftModel, input_ids: list[int], labels: list[int], output: str = "loss"
) -> dict[str, tuple]:
    """Per module: (dL/dA, dL/dB) by plain backward() of the example's mean token loss, or of minus its
    mean token margin log(p / (1 - p)) (TRAK's output function)."""
    model.zero_grad()
    logits = model(input_ids=torch.tensor([input_ids])).logits[0, :-1].float()
    targets = torch.tensor(labels[1:])
    kept = targets != -100
    log_p = torch.log_softmax(logits[kept], dim=-1).gather(1, targets[kept, None])[:, 0]
    margin = log_p - torch.log1p(-log_p.exp())
    (-(log_p if output == "loss" else margin).mean()).backward()
    return {
        name: (layer.lora_A["default"].weight.grad.clone(), layer.lora_B["default"].weight.grad.clone())
        for name, layer in lora_linear_layers(model, "default")
    }


@pytest.mark.parametrize("output", ["loss", "margin"])
@pytest.mark.parametrize(
    "make_model",
    [llama_lora, gpt2_lora, llama_dora, gpt2_dora],
    ids=["llama-attention-mlp", "gpt2-conv1d", "llama-dora", "gpt2-conv1d-dora"],
)
def test_projected_gradients_equal_the_projection_of_autograds_lora_gradients(make_model, output):
    """For DoRA adapters too: PEFT detaches DoRA's weight norm, so the hooks' A/B gradients are exact (the
    magnitude vector's own gradient is not sketched, and not compared here)."""
    model = make_model()
    config = SketchConfig(side_dim=4, sketch_dim=64, seed=3, output=output)
    input_ids = [5, 17, 99, 3, 250, 42, 7, 7, 128, 64, 11]
    labels = [-100] * 5 + input_ids[5:]
    gradients = autograd_lora_gradients(model, input_ids, labels, output)
    assert len({grad_a.shape[0] for grad_a, _ in gradients.values()}) > 1, "the adapter should mix ranks"

    weights = {name: 0.5 + index for index, name in enumerate(sorted(gradients))}
    with LoraGradientProjector(model, config, module_weights=weights) as projector:
        vectors = projector.module_vectors([input_ids], [labels])
        sketch = projector.project([input_ids], [labels])[0]

    expected_sketch = torch.zeros(config.sketch_dim)
    for (name, (grad_a, grad_b)), vector in zip(sorted(gradients.items()), vectors, strict=True):
        rank, in_features = grad_a.shape
        out_features = grad_b.shape[0]
        projection = ModuleProjection.generate(config, name, in_features, out_features, rank)
        explicit = torch.cat([(grad_a @ projection.p_in.T).flatten(), (projection.p_out @ grad_b).flatten()])
        torch.testing.assert_close(vector[0], explicit, atol=1e-5, rtol=1e-4)
        expected_sketch += weights[name] * (projection.final @ explicit)
    torch.testing.assert_close(sketch, expected_sketch, atol=1e-5, rtol=1e-4)
    assert sketch.abs().max() > 1e-3


def test_dora_adapters_are_sketched_from_their_low_rank_gradients():
    """Batched DoRA sketches (PEFT's extra lora_B(lora_A(I)) call for the weight norm adds nothing) equal
    the examples' sketches alone; the magnitudes shape the sketch, through the A/B gradients."""
    model = llama_dora()
    rows, _ = training_rows(4, seed=3)
    ids, labels = [row[1] for row in rows], [row[2] for row in rows]
    with LoraGradientProjector(model, SketchConfig()) as projector:
        together = projector.project(ids, labels)
        alone = torch.cat([projector.project([row[1]], [row[2]]) for row in rows])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)
    assert all(param.grad is None for param in model.parameters())

    fingerprint = adapter_fingerprint(model)
    with_perturbed_magnitudes(model, seed=8)
    assert adapter_fingerprint(model) != fingerprint, "a DoRA adapter's magnitudes are part of it"
    with LoraGradientProjector(model, SketchConfig()) as projector:
        assert not torch.allclose(projector.project(ids, labels), together, atol=1e-3)


def test_lora_variants_other_than_dora_are_refused_by_name():
    config = LoraConfig(r=4, target_modules=ATTENTION, alora_invocation_tokens=[1, 2], task_type="CAUSAL_LM")
    model = get_peft_model(tiny_llama(seed=0), config)
    with pytest.raises(ValueError, match="ALoraLinearVariant is not supported by gradient sketches"):
        lora_linear_layers(model, "default")


def test_an_examples_sketch_does_not_depend_on_the_batch_it_was_in():
    model = llama_lora()
    rows, _ = training_rows(6, seed=4)
    rows.append((7, [9, 8, 7], [-100, 8, 7]))  # shorter than every other: mostly padding in the batch
    with LoraGradientProjector(model, SketchConfig()) as projector:
        together = projector.project([row[1] for row in rows], [row[2] for row in rows])
        alone = torch.cat([projector.project([row[1]], [row[2]]) for row in rows])
        reversed_batch = projector.project([row[1] for row in rows[::-1]], [row[2] for row in rows[::-1]])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(reversed_batch.flip(0), alone, atol=1e-5, rtol=1e-4)
    assert not torch.equal(alone[0], alone[1])


def test_sketches_through_the_head_at_labelled_positions_equal_those_of_the_full_logits():
    model = llama_lora()
    rows, _ = training_rows(5, seed=6)
    ids, labels = [row[1] for row in rows], [row[2] for row in rows]
    with LoraGradientProjector(model, SketchConfig()) as projector:
        assert projector._labelled_head, "a plain Llama takes the labelled-head path"
        labelled = projector.project(ids, labels)
        projector._labelled_head = False
        full = projector.project(ids, labels)
    torch.testing.assert_close(labelled, full, atol=1e-5, rtol=1e-4)


def test_a_margin_sketch_is_the_loss_sketch_divided_by_one_minus_the_tokens_probability():
    model = llama_lora()
    ids, labels = [4, 5, 6, 7], [-100, -100, -100, 7]  # one labelled token: one scale for the whole row
    with torch.no_grad():
        p = torch.softmax(model(input_ids=torch.tensor([ids])).logits[0, 2].float(), dim=-1)[7]
    with LoraGradientProjector(model, SketchConfig(output="loss")) as projector:
        loss = projector.project([ids], [labels])
    with LoraGradientProjector(model, SketchConfig(output="margin")) as projector:
        margin = projector.project([ids], [labels])
    torch.testing.assert_close(margin, loss / (1 - p), atol=1e-6, rtol=1e-4)


def test_a_sketch_config_refuses_an_unknown_output_and_reads_records_older_than_the_margin_as_loss():
    with pytest.raises(ValueError, match="output must be one of loss, margin"):
        SketchConfig(output="logit")
    assert SketchConfig().output == "margin"
    older = {"side_dim": 8, "sketch_dim": 512, "seed": 0}
    assert SketchConfig.from_json(older) == SketchConfig(output="loss")
    assert SketchConfig.from_json(SketchConfig().to_json()) == SketchConfig()


def test_an_example_without_label_tokens_has_a_zero_sketch():
    model = llama_lora()
    with LoraGradientProjector(model, SketchConfig()) as projector:
        sketches = projector.project([[4, 5, 6, 7], [4, 5, 6, 7]], [[-100] * 4, [-100, -100, 6, 7]])
    assert torch.equal(sketches[0], torch.zeros_like(sketches[0]))
    assert sketches[1].abs().max() > 0


def test_the_projector_leaves_the_model_as_it_found_it():
    model = llama_lora()
    model.train()
    before = {name: param.requires_grad for name, param in model.named_parameters()}
    projector = LoraGradientProjector(model, SketchConfig())
    assert not model.training
    assert {name for name, param in model.named_parameters() if param.requires_grad} == {
        name for name in before if "lora_" in name
    }
    projector.project([[1, 2, 3]], [[-100, 2, 3]])
    projector.close()
    assert model.training
    assert {name: param.requires_grad for name, param in model.named_parameters()} == before
    assert all(param.grad is None for param in model.parameters())


def test_a_projector_built_again_for_the_same_adapter_gives_the_same_projection(tmp_path: Path):
    model = llama_lora(seed=5)
    rows, _ = training_rows(3, seed=5)
    ids, labels = [row[1] for row in rows], [row[2] for row in rows]
    with LoraGradientProjector(model, SketchConfig()) as projector:
        first = projector.project(ids, labels)
    model.save_pretrained(str(tmp_path / "adapter"))

    reloaded = PeftModel.from_pretrained(tiny_llama(seed=0), str(tmp_path / "adapter")).eval()
    with LoraGradientProjector(reloaded, SketchConfig()) as projector:
        assert projector.adapter_fingerprint == adapter_fingerprint(model)
        again = projector.project(ids, labels)
    with LoraGradientProjector(reloaded, SketchConfig(seed=1)) as projector:
        other_seed = projector.project(ids, labels)

    torch.testing.assert_close(again, first, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(other_seed, first, atol=1e-3)


@pytest.fixture(scope="module")
def retrieval() -> tuple[PeftModel, list[Row], list, GradientSketches]:
    """40 training rows sketched for a random adapter of realistic size (B ~ N(0, 0.02): the adapter's delta
    is a fraction of the base weights, as after fine-tuning; with 0.2 it would be several times larger, and
    any prompt change scrambles the hidden states of this random 2-layer model)."""
    model = llama_lora(seed=2, b_std=0.02)
    rows, near_duplicates = training_rows(40, seed=0)
    progress = []
    started = time.perf_counter()
    sketches = build_sketches(model, rows, on_progress=lambda done, total: progress.append((done, total)))
    elapsed = time.perf_counter() - started
    print(f"\nsketching: {1000 * elapsed / len(rows):.2f} ms per row (tiny Llama, 1 thread)")
    assert progress == [(8 * batch, 40) for batch in range(1, 6)]
    return model, rows, near_duplicates, sketches


def test_a_training_row_asked_again_ranks_first_among_the_sketches(retrieval):
    model, rows, near_duplicates, sketches = retrieval
    assert sketches.row_ids == [row[0] for row in rows]
    with sketches.projector(model) as projector:
        queries = projector.project([row[1] for row in rows], [row[2] for row in rows])
        duplicate_queries = projector.project(
            [ids for ids, _ in near_duplicates], [lab for _, lab in near_duplicates]
        )
        started = time.perf_counter()
        for input_ids, labels in near_duplicates[:10]:
            sketches.top_rows(projector.project([input_ids], [labels])[0], k=3)
        per_query = (time.perf_counter() - started) / 10

    accuracy = {}
    for method in ("dot", "cosine", "preconditioned", "whitened_cosine"):
        own = torch.arange(len(rows))
        self_top1 = (sketches.scores(queries, method).argmax(dim=1) == own).float().mean().item()
        scores = sketches.scores(duplicate_queries, method)
        rank = (scores > scores.diagonal()[:, None]).sum(dim=1)
        accuracy[method] = (self_top1, (rank == 0).float().mean().item(), (rank < 3).float().mean().item())
    print(f"query: {1000 * per_query:.2f} ms (backward + scoring 40 rows)")
    for method, (self_top1, duplicate_top1, duplicate_top3) in accuracy.items():
        print(
            f"{method:16s} self top-1 {self_top1:.0%}  "
            f"near-duplicate top-1 {duplicate_top1:.0%} top-3 {duplicate_top3:.0%}"
        )

    for index in range(0, len(rows), 8):
        row_id = rows[index][0]
        best = sketches.top_rows(queries[index], k=3)
        assert best[0][0] == row_id
        assert best[0][1] >= best[1][1] >= best[2][1]
    self_top1, _, duplicate_top3 = accuracy[DEFAULT_METHOD]
    assert self_top1 == 1.0
    assert duplicate_top3 >= 0.8


def test_sketches_save_and_load_round_trip(retrieval, tmp_path: Path):
    model, rows, _, sketches = retrieval
    sketches.save(tmp_path / "sketches")
    written = sorted(path.name for path in (tmp_path / "sketches").iterdir())
    assert written == ["sketches.json", "sketches.safetensors"]  # no temporary files left behind

    loaded = GradientSketches.load(tmp_path / "sketches")
    assert loaded.row_ids == sketches.row_ids
    assert loaded.config == sketches.config
    assert loaded.adapter_fingerprint == sketches.adapter_fingerprint
    assert loaded.module_weights == sketches.module_weights
    assert loaded.vectors.dtype == torch.float16
    assert torch.equal(loaded.vectors, sketches.vectors)
    assert torch.equal(loaded.norms, sketches.norms)
    assert torch.equal(loaded.preconditioner, sketches.preconditioner)
    with loaded.projector(model) as projector:
        query = projector.project([rows[3][1]], [rows[3][2]])[0]
    best, best_loaded = sketches.top_rows(query, k=5), loaded.top_rows(query, k=5)
    assert [row_id for row_id, _ in best_loaded] == [row_id for row_id, _ in best]
    scores = [score for _, score in best]
    assert [score for _, score in best_loaded] == pytest.approx(scores, abs=1e-6 * scores[0])


def test_scoring_sketches_of_another_adapter_raises_sketch_mismatch(retrieval):
    model, _, _, sketches = retrieval
    other = llama_lora(seed=9, b_std=0.02)
    with pytest.raises(SketchMismatch):
        sketches.projector(other)
    with (
        LoraGradientProjector(other, sketches.config, sketches.module_weights) as projector,
        pytest.raises(SketchMismatch),
    ):
        sketches.check(projector)

    narrow = LoraGradientProjector(model, SketchConfig(side_dim=4), sketches.module_weights)
    with narrow, pytest.raises(SketchMismatch):
        sketches.check(narrow)
    with LoraGradientProjector(model, sketches.config) as unweighted, pytest.raises(SketchMismatch):
        sketches.check(unweighted)
    with pytest.raises(SketchMismatch):
        sketches.scores(torch.zeros(sketches.config.sketch_dim // 2))


def test_a_truncated_sketch_file_raises_sketch_corrupt(retrieval, tmp_path: Path):
    sketches = retrieval[3]
    directory = tmp_path / "sketches"
    sketches.save(directory)
    tensors = directory / "sketches.safetensors"
    tensors.write_bytes(tensors.read_bytes()[: tensors.stat().st_size // 2])
    with pytest.raises(SketchCorrupt):
        GradientSketches.load(directory)

    sketches.save(directory)
    (directory / "sketches.json").write_text('{"format": "lora-gradient-sk')
    with pytest.raises(SketchCorrupt):
        GradientSketches.load(directory)

    sketches.save(directory)
    (directory / "sketches.safetensors").unlink()
    with pytest.raises(SketchCorrupt):
        GradientSketches.load(directory)
    with pytest.raises(SketchCorrupt):
        GradientSketches.load(tmp_path / "nothing-here")


def test_a_row_costs_two_bytes_per_sketch_dimension(retrieval, tmp_path: Path):
    sketches = retrieval[3]
    assert sketches.config == SketchConfig()
    per_row = sketches.bytes_per_row
    print(f"\nbytes per row: {per_row} (sketch_dim {sketches.config.sketch_dim} × 2 + norm 4 + row id 8)")
    assert sketches.config.sketch_dim * 2 <= per_row <= sketches.config.sketch_dim * 2 + 16
    assert sketches.nbytes == per_row * len(sketches) + sketches.config.sketch_dim**2 * 4

    sketches.save(tmp_path / "one")
    small = GradientSketches.from_vectors(
        sketches.row_ids[:10],
        sketches.dense()[:10],
        config=sketches.config,
        adapter_fingerprint=sketches.adapter_fingerprint,
    )
    small.save(tmp_path / "ten")
    on_disk = (tmp_path / "one" / "sketches.safetensors").stat().st_size
    on_disk_ten = (tmp_path / "ten" / "sketches.safetensors").stat().st_size
    assert (on_disk - on_disk_ten) / (len(sketches) - 10) == pytest.approx(per_row, abs=1)


def test_sketches_of_a_copied_model_match_the_original():
    """The fingerprint and sketches depend on the adapter's weights only, not on the model object."""
    model = llama_lora(seed=6)
    twin = copy.deepcopy(model)
    rows, _ = training_rows(4, seed=6)
    first, second = build_sketches(model, rows), build_sketches(twin, rows)
    assert first.adapter_fingerprint == second.adapter_fingerprint
    assert torch.equal(first.vectors, second.vectors)
    with torch.no_grad():
        twin.base_model.model.model.layers[0].self_attn.q_proj.lora_B["default"].weight[0, 0] += 1e-3
    assert adapter_fingerprint(twin) != first.adapter_fingerprint
