"""The model catalog: registered base models (and, as they are published, adapters and composites)."""
