from django.core.management.base import BaseCommand, CommandError, CommandParser

from datanets.demo_seeding import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    DemoRefusedInProduction,
    demo_fine_tunes_ensure,
    demo_refuse_in_production,
    seed_demo_data,
)


class Command(BaseCommand):
    help = (
        "Load the demo contributors and seed datanets, and queue the demo's fine-tunes on the trainer "
        "(idempotent: later runs find them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-fine-tunes", action="store_true", help="load the data only; queue no demo fine-tune"
        )

    def handle(self, *args, **options) -> None:
        try:
            demo_refuse_in_production()
        except DemoRefusedInProduction as error:
            raise CommandError(str(error)) from None
        summary = seed_demo_data()
        self.stdout.write(
            f"demo data: {summary.datanets} datanets, {summary.contributors} contributors, "
            f"{summary.rows_added} new rows, {summary.versions_published} versions published "
            f"(login {DEMO_USERNAME} / {DEMO_PASSWORD}); {summary.development_wallets} contributors paid at "
            "anvil development accounts (they claim on /earnings/)"
        )
        if options["no_fine_tunes"]:
            return
        for line in demo_fine_tunes_ensure():
            self.stdout.write(f"demo fine-tune {line}")
