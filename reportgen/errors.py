"""The one exception type whose message is shown to the user as a one-line error, and the one way an exception
becomes the reason a record or a page gives."""

REASON_CHARS = 800  # a stored reason's most characters: a framework's error can run to pages


class ReportgenError(Exception):
    """A problem the user can fix (bad input, missing GPU, unreadable file); printed without a traceback."""


def failure_reason(exc: BaseException, limit: int = REASON_CHARS) -> str:
    """``exc`` as one line, ``<Type>: <message>``, at most ``limit`` characters."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:limit]
