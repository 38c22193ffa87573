"""Domain errors of fine-tuning jobs."""

from __future__ import annotations


class JobRefused(Exception):
    """A job cannot be created or changed as asked; the message says why and what to do."""


class NotJobOwner(Exception):
    """Only the person who launched a job may cancel, resume or publish it."""


class JobNotFound(Exception):
    """No job by that id among the person's own: another person's job is as absent as a missing one."""


class ArtifactNotReady(Exception):
    """A download asked for before it exists (the adapter before the job succeeded, the merged model before
    its export finished): not there yet, so 404 with when it will be."""
