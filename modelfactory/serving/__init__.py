"""The bridge from the web process to the in-process OpenLoRA engine (one engine per process)."""
