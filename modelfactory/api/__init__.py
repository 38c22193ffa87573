"""The OpenAI-compatible API (/v1/...) and the API keys that authenticate it."""
