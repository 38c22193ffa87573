"""Ledger amounts become `BaseUnitsField`: exact on SQLite (text of the digits) as on PostgreSQL (numeric).

As `DecimalField`s, SQLite read them back through a 15-digit float, so the payouts of any epoch of more
than a few answers no longer rebuilt the root committed on chain, nor added up to what was charged. On
PostgreSQL the column stays numeric and this is a type change only. On SQLite the table is rebuilt and the
old values are copied as text; `_digits` rewrites the ones SQLite had kept as floats ("1.2e+19") as
plain digits, so every row reads back (the precision those lost is gone, as it already was).
"""

from decimal import Decimal

from django.db import migrations

import modelfactory.billing.base_units_field

COLUMNS = (
    ("ledger_epoch", "total"),
    ("ledger_inferencereceipt", "fee"),
    ("ledger_payout", "amount"),
    ("ledger_personearning", "amount"),
)


def _digits(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table, column in COLUMNS:
            cursor.execute(f"SELECT id, {column} FROM {table} WHERE {column} LIKE '%e%' OR {column} LIKE '%.%'")
            for pk, value in cursor.fetchall():
                cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [str(int(Decimal(value))), pk])


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0005_person_earnings"),
    ]

    operations = [
        migrations.AlterField(
            model_name="epoch",
            name="total",
            field=modelfactory.billing.base_units_field.BaseUnitsField(help_text="In OPEN base units."),
        ),
        migrations.AlterField(
            model_name="inferencereceipt",
            name="fee",
            field=modelfactory.billing.base_units_field.BaseUnitsField(help_text="In OPEN base units."),
        ),
        migrations.AlterField(
            model_name="payout",
            name="amount",
            field=modelfactory.billing.base_units_field.BaseUnitsField(help_text="In OPEN base units."),
        ),
        migrations.AlterField(
            model_name="personearning",
            name="amount",
            field=modelfactory.billing.base_units_field.BaseUnitsField(help_text="In OPEN base units."),
        ),
        migrations.RunPython(_digits, migrations.RunPython.noop),
    ]
