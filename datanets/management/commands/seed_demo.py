from django.core.management.base import BaseCommand

from datanets.demo_seeding import DEMO_PASSWORD, DEMO_USERNAME, seed_demo_data


class Command(BaseCommand):
    help = "Load the demo contributors and seed datanets (idempotent)."

    def handle(self, *args, **options) -> None:
        summary = seed_demo_data()
        self.stdout.write(
            f"demo data: {summary.datanets} datanets, {summary.contributors} contributors, "
            f"{summary.rows_added} new rows, {summary.versions_published} versions published "
            f"(login {DEMO_USERNAME} / {DEMO_PASSWORD})"
        )
