"""The one exception type whose message is shown to the user as a one-line error."""


class ReportgenError(Exception):
    """A problem the user can fix (bad input, missing GPU, unreadable file); printed without a traceback."""
