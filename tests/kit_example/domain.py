"""The example's rules: pure functions, no I/O."""

from hub.kernel.problems import field_invalid


def clean_body(raw: str) -> str:
    """Trimmed; a blank note is a 422 naming ``body``."""
    if not raw.strip():
        raise field_invalid("body", "A note needs some text.")
    return raw.strip()


def word_count(body: str) -> int:
    return len(body.split())
