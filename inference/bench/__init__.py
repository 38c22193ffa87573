"""`python -m inference.bench`: the engine against PEFT and plain transformers on the same requests.

Every system runs in its own subprocess (so each one's peak memory is its own), on the same base model
weights and the same requests; see `docs/engine.md` for the workload and the targets.
"""
