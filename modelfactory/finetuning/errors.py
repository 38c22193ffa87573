"""Domain errors of fine-tuning jobs."""

from __future__ import annotations


class JobRefused(Exception):
    """A job cannot be created or changed as asked; the message says why and what to do."""


class NotJobOwner(Exception):
    """Only the person who launched a job may cancel, resume or publish it."""
