"""The fine-tuning wizard's state: what the user chose so far, kept in the session between steps.

Going back and forth never loses a choice; every step is validated on the server again when the job
is launched, because a session can outlive a datanet permission or a base model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from modelfactory.finetuning.training.capabilities import detect_capabilities
from modelfactory.finetuning.training.spec import TrainingSpec, preset

SESSION_KEY = "finetune_wizard"
STEPS = ("base", "data", "method", "review")
STEP_TITLES = {"base": "Base model", "data": "Data", "method": "Method", "review": "Review"}


@dataclass
class WizardState:
    base_model_id: int | None = None
    version_ids: list[int] = field(default_factory=list)
    eval_fraction: float = 0.1
    preset: str = "balanced"
    overrides: dict = field(default_factory=dict)
    name: str = ""

    @classmethod
    def load(cls, session) -> WizardState:
        return cls(**session.get(SESSION_KEY, {}))

    def save(self, session) -> None:
        session[SESSION_KEY] = asdict(self)

    @staticmethod
    def clear(session) -> None:
        session.pop(SESSION_KEY, None)

    def first_missing_step(self) -> str | None:
        if self.base_model_id is None:
            return "base"
        if not self.version_ids:
            return "data"
        return None

    def spec(self, base_model_source: str, *, context_length: int | None = None) -> TrainingSpec:
        """The preset for this machine's hardware and the base model's context, with the advanced
        panel's overrides applied."""
        return preset(
            self.preset,
            base_model_source,
            hardware=detect_capabilities().hardware,
            context_length=context_length,
            eval_fraction=self.eval_fraction,
            **self.overrides,
        )
