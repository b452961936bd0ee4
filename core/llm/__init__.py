"""LLM access: the OpenAI-compatible client the worker uses, and the offline stub server."""
