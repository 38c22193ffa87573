"""Reading uploaded dataset files into validated, normalized rows, without Django.

The upload wizard calls `inspect_upload` for a preview (detected format, column mapping, the first
rows and rejections), then `iter_validated` streams every record to a `NormalizedRow` or a
`RowRejection`; `rejections_file` turns the rejections into a download. Whole-file problems raise
`UploadUnreadable`. See the modules for the layouts understood (`formats`), the rules (`validation`)
and the file types (`readers`).

How a Django service is expected to use it (the service owns the transaction and the rows)::

    preview = inspect_upload(path, filename=upload.name, existing_hashes=hashes, count_tokens=counter.count)
    # ... the wizard shows preview.explanation, preview.rows, preview.rejections, and asks for a
    # ColumnMapping when preview.needs_mapping ...
    with transaction.atomic():
        for verdict in iter_validated(path, filename=upload.name, mapping=mapping, existing_hashes=hashes,
                                      count_tokens=counter.count, max_tokens=limit, on_progress=report):
            ...  # buffer NormalizedRow for bulk_create in batches; write RowRejection to a temp file
"""

from datanets.ingest.formats import ColumnMapping, FormatGuess, MappingInvalid, SourceFormat, detect_format
from datanets.ingest.outcomes import NormalizedRow, RowInvalid, RowRejection, UploadUnreadable
from datanets.ingest.pipeline import UploadPreview, inspect_upload, iter_validated, rejections_file
from datanets.ingest.readers import FILE_TYPES
from datanets.ingest.upload_source import DEFAULT_MAX_BYTES, DecodeLimits
from datanets.ingest.validation import RowValidator, check_content, check_format

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FILE_TYPES",
    "ColumnMapping",
    "DecodeLimits",
    "FormatGuess",
    "MappingInvalid",
    "NormalizedRow",
    "RowInvalid",
    "RowRejection",
    "RowValidator",
    "SourceFormat",
    "UploadPreview",
    "UploadUnreadable",
    "check_content",
    "check_format",
    "detect_format",
    "inspect_upload",
    "iter_validated",
    "rejections_file",
]
