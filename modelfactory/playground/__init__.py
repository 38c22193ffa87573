"""The playground: chat with any model you may use, side by side, with each answer's attribution."""
