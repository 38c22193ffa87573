"""Domain errors of the catalog; `modelfactory.domain_errors` gives each its HTTP status."""

from __future__ import annotations


class ModelNotFound(Exception):
    """No live model by that API name (or one the caller may not know about)."""

    code, param = "model_not_found", "model"  # the API's error code, and the request field that named it


class ModelAccessDenied(ModelNotFound):
    """The model is on an allow-list that does not include the caller.

    A kind of `ModelNotFound`, said in the same words: someone who may not use a model cannot tell it
    from one that does not exist (the catalog lists it only to those who may), so its name leaks
    nothing. Owners share an allow-listed model by granting it, not by its name being probed.
    """


class AdapterImportNotFound(Exception):
    """No adapter import by that id that the caller started."""


class PublishRefused(Exception):
    """A model cannot be published or changed as asked; the message says why."""


class AdapterImportRefused(Exception):
    """The zip is not a usable PEFT adapter for this base model; the message says what to fix."""
