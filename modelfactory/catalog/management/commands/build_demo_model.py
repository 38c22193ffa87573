"""``manage.py build_demo_model``: grow the demo base model from the seed corpus.

No model hub is reachable, so this is how a fresh checkout gets a base model to fine-tune. It
reads the seed content straight from ``datanets.seed`` (not the database), so it works before
migrations run and always trains on the canonical seed text. Re-running is cheap: an unchanged
corpus and recipe reuse the existing model unless ``--force``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from modelfactory.demo_model.architecture import MODEL_SIZES
from modelfactory.demo_model.builder import build_demo_model
from modelfactory.demo_model.corpus import texts_and_conversations_from_rows

DEFAULT_OUTPUT = Path("var/models/demo-base")


class Command(BaseCommand):
    help = "Train ModelFactory's small demo base model (tokenizer + Llama) on the seed corpus, on CPU."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=None, help="model directory (default: settings)")
        parser.add_argument("--force", action="store_true", help="rebuild even if a matching model exists")
        parser.add_argument(
            "--time-budget",
            type=float,
            default=None,
            help="seconds of training (default: the size's default)",
        )
        parser.add_argument("--max-steps", type=int, default=None, help="cap on optimizer steps")
        parser.add_argument("--size", choices=MODEL_SIZES, default="demo")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: object, **options: object) -> None:
        from datanets.seed import general_corpus, seed_datanets  # heavy seed content: load on use only

        verbose = int(options["verbosity"]) >= 1  # type: ignore[call-overload]
        logging.getLogger("modelfactory.demo_model").setLevel(logging.INFO if verbose else logging.WARNING)

        output = options["output"] or Path(getattr(settings, "MODELFACTORY_DEMO_MODEL_DIR", DEFAULT_OUTPUT))
        rows = [row.content for datanet in seed_datanets() for row in datanet.rows]
        texts, conversations = texts_and_conversations_from_rows(rows)
        texts = list(general_corpus()) + texts
        self.stdout.write(
            f"Building the {options['size']} base model in {output} from {len(texts)} texts "
            f"and {len(conversations)} conversations..."
        )

        report = build_demo_model(
            texts,
            conversations,
            Path(output),  # type: ignore[arg-type]
            size=options["size"],  # type: ignore[arg-type]
            time_budget_s=options["time_budget"],  # type: ignore[arg-type]
            max_steps=options["max_steps"],  # type: ignore[arg-type]
            seed=options["seed"],  # type: ignore[arg-type]
            progress=verbose,
            force=bool(options["force"]),
        )

        if report.from_cache:
            self.stdout.write(
                "Corpus and recipe unchanged: reused the existing model (use --force to rebuild)."
            )
        self.stdout.write(
            f"{report.parameter_count:,} parameters, vocab {report.vocab_size:,}, {report.steps} steps, "
            f"{report.tokens_seen:,} tokens seen in {report.train_seconds:.0f}s of training "
            f"({report.build_seconds:.0f}s build)."
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"held-out perplexity: {report.perplexity_untrained:.1f} (untrained) -> "
                f"{report.perplexity_trained:.1f} (trained)"
            )
        )
        self.stdout.write(f"Model directory: {report.output_dir}")
