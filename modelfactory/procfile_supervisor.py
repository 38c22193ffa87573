"""`make run`'s supervisor: honcho, with a stop grace long enough for Celery to stop warm.

    python -m modelfactory.procfile_supervisor start -f Procfile

Celery notices SIGTERM only between two turns of its event loop and then runs one more turn; on
the SQLAlchemy broker of `make run` a turn polls for two seconds, so an idle worker takes two to
four seconds to stop, and more while four workers, the web process and the chain node all stop at
once on a two-core machine. Honcho kills whatever still runs five seconds after Ctrl-C (a module
constant, not an option), which cut workers off in the middle of a clean shutdown. A worker busy
with a task still waits for it only up to the grace: past it, the task is given back (acks_late)
and runs again on the next start.
"""

from __future__ import annotations

import os
import sys

import honcho.manager
from honcho.command import main as honcho_main

DEFAULT_STOP_GRACE_S = 20.0


def stop_grace_s() -> float:
    """Seconds between Ctrl-C (or SIGTERM) and SIGKILL: MF_STOP_GRACE_S, twenty by default."""
    return float(os.environ.get("MF_STOP_GRACE_S", DEFAULT_STOP_GRACE_S))


def main(argv: list[str] | None = None) -> None:
    honcho.manager.KILL_WAIT = stop_grace_s()
    honcho_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
