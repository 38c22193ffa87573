"""Errors of the serving engine, each saying what was wrong and what to do about it.

They are raised per request (a bad adapter or prompt fails that request alone; the engine keeps
serving everyone else) and translated to HTTP status codes at the web edge only.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine reports for a request or an adapter."""


class AdapterNotFound(EngineError):
    """No adapter is registered under this name, or its directory/files are missing."""


class AdapterIncompatible(EngineError):
    """The adapter cannot be served on this base model (other shapes, modules, or unsupported options)."""


class AdapterCorrupt(EngineError):
    """The adapter's files exist but cannot be read (truncated safetensors, bad JSON, NaN weights)."""


class PromptTooLong(EngineError):
    """The prompt plus the requested tokens do not fit the model's context or the KV-cache."""


class RequestCancelled(EngineError):
    """The caller cancelled the request before it finished."""


class EngineStopped(EngineError):
    """The engine was shut down before the request finished."""
