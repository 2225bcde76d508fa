from enum import StrEnum


class CatalogErrorCode(StrEnum):
    """Every code catalog raises (config.exceptions)."""

    UNAVAILABLE = "unavailable"  # a filter whose port no app has filled
    IMPORT_REJECTED = "import_rejected"
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNREADABLE_FILE = "unreadable_file"
