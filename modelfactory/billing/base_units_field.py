"""A column for whole OPEN base units that stays exact on both databases the project runs on.

A balance of 100 OPEN is 10²⁰ base units, more than a 64-bit integer holds. PostgreSQL stores it
exactly as `numeric(78, 0)` (78 digits hold any uint256 the chain can hold). SQLite, the development
database, would turn such a number into a float with 15 significant digits, so a balance of 100 OPEN
less one answer's fee would come back wrong by up to a million base units: the ledger and the deposit
contract would disagree about what the user may withdraw. On SQLite the column is therefore the text
of the digits, converted to and from `int` here.

What that means for callers: arithmetic on these columns is done in Python under the row lock
(services), never with `F()` expressions, and sums are taken in Python (selectors), because SQLite
would do either with floats. Filtering for equality, and the sign checks of the table constraints,
work on both (a negative number's text sorts below "0").
"""

from __future__ import annotations

from decimal import Decimal

from django.core import exceptions
from django.db import models


class BaseUnitsField(models.Field):
    description = "A whole number of OPEN base units (10⁻¹⁸ OPEN), exact on PostgreSQL and SQLite"
    MAX_DIGITS = 78

    def db_type(self, connection) -> str:
        return "text" if connection.vendor == "sqlite" else f"numeric({self.MAX_DIGITS}, 0)"

    def get_internal_type(self) -> str:
        # Not "DecimalField": the SQLite backend would read the column back through a 15-digit float.
        return "BaseUnitsField"

    def from_db_value(self, value, expression, connection) -> int | None:
        return None if value is None else int(value)

    def to_python(self, value) -> int | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            number = None
        if number is None or not number.is_finite() or number != number.to_integral_value():
            raise exceptions.ValidationError(f"{value!r} is not a whole number of base units", code="invalid")
        return int(number)

    def get_prep_value(self, value) -> int | None:
        return self.to_python(super().get_prep_value(value))

    def get_db_prep_value(self, value, connection, prepared: bool = False):
        value = value if prepared else self.get_prep_value(value)
        if value is None:
            return None
        return str(value) if connection.vendor == "sqlite" else Decimal(value)
