"""The OpenLoRA serving engine: a plain library (its core imports no Django)."""
