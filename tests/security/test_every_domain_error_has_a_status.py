"""A domain error that reaches a view without a status in the one table is a 500: every one must have one."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from modelfactory.domain_errors import status_for

ROOT = Path(__file__).resolve().parents[2]
# Errors that never reach a view: raised and handled inside workers, chain code or the engine.
INTERNAL = {"RowInvalid", "UploadUnreadable", "ReservationClosed", "ChargeRefused", "InvalidAmount"}
ERROR_MODULES = ["datanets.errors"] + [
    f"modelfactory.{path.parent.name}.errors" for path in sorted((ROOT / "modelfactory").glob("*/errors.py"))
]


def _domain_errors() -> list[type[Exception]]:
    found = []
    for name in ERROR_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Exception)
                and value.__module__ == name
                and value.__name__ not in INTERNAL
            ):
                found.append(value)
    return found


def test_the_apps_define_domain_errors() -> None:
    assert len(_domain_errors()) >= 20


@pytest.mark.parametrize("error", _domain_errors(), ids=lambda error: f"{error.__module__}.{error.__name__}")
def test_every_domain_error_has_a_status_in_the_one_table(error: type[Exception]) -> None:
    if error.__module__ == "modelfactory.api.errors" and error.__name__ != "ApiKeyNotFound":
        pytest.skip("the API's own errors carry their OpenAI status and shape")
    assert status_for(error.__new__(error)) is not None
