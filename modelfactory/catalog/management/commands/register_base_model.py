from django.core.management.base import BaseCommand, CommandError

from inference.base_model import BaseModelNotFound
from modelfactory.catalog.services import base_model_register


class Command(BaseCommand):
    help = "Register a Hugging Face causal LM (a local directory or a cached hub id) as a base model."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="short name, e.g. qwen2.5-0.5b")
        parser.add_argument("source", help="model directory or cached hub id")
        parser.add_argument("--description", default="")
        parser.add_argument("--default", action="store_true", help="make it the wizard's default")

    def handle(self, *args, name: str, source: str, description: str, default: bool, **options) -> None:
        try:
            model = base_model_register(
                name=name, source=source, description=description, make_default=default
            )
        except BaseModelNotFound as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"registered {model.name}: {model.architecture}, {model.parameter_count or '?'} parameters"
        )
