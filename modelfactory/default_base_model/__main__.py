"""``python -m modelfactory.default_base_model [--output DIR] [--force]``: what ``make`` runs in setup."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .gguf_conversion import ModelSetupError
from .preparation import default_model_dir, prepare_default_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=None, help=f"default: {default_model_dir()}")
    parser.add_argument("--force", action="store_true", help="convert again even if a conversion is there")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    output = args.output or default_model_dir()
    try:
        record = prepare_default_model(output, force=args.force)
    except ModelSetupError as error:
        print(f"base model: {error}", file=sys.stderr)
        return 1
    if record.from_cache:
        print(f"base model: {output} is ready (converted from {record.gguf_file}).")
    else:
        print(
            f"base model: converted {record.gguf_file} into {output} "
            f"({record.parameter_count / 1e6:.0f}M parameters, {record.seconds:.0f} s)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
