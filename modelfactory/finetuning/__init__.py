"""Fine-tuning: LoRA adapters trained on community datanets (the training library lives in `training`)."""
