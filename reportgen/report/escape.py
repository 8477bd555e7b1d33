"""Text from results files is data: the one place where it becomes safe Markdown for a generated page.

Results files come from other machines (the published site merges them), so a reason, a variant name, a
CPU model or a command line may hold ``<script>``, ``[a link](javascript:...)``, backticks, pipes or
newlines. Every such string reaches a page through :class:`MD`:

- the page templates escape every value they print unless it is already :class:`MD` (Jinja's
  ``finalize``), so a template cannot forget;
- page modules compose Markdown with ``MD("**{}** is faster").format(label)``: the pattern is trusted, the
  arguments are escaped (``+``, ``%`` and ``join`` escape the same way);
- :func:`code` and :func:`code_block` put literal text in code.

Escaping turns every character that Markdown, its extensions or HTML give a meaning to into a numeric
character reference, which the browser shows as the character itself; newlines become spaces, so a value
can never start a block of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup

# HTML (& < > " '), inline Markdown (\ ` * _ [ ] ( ) ! |), blocks (# + = > ~), pymdownx extensions
# (~ ^ = for del/sup/mark, : for emoji and autolinked URLs, @ for mentions, $ for maths, { } for attributes).
_ACTIVE = "&<>\"'\\`*_[](){}#+!|~^=:$@"
_TRANSLATION = str.maketrans({**{c: f"&#{ord(c)};" for c in _ACTIVE}, "\n": " ", "\r": " ", "\t": " "})
_SNIPPET_LINE = re.compile(r"^\s*-+8<-+")  # pymdownx.snippets would include a file here; ";" escapes it


class MD(Markup):
    """Markdown that is safe to put in a page; whatever is combined with it as a plain ``str`` is escaped."""

    __slots__ = ()

    @classmethod
    def escape(cls, s: Any) -> MD:  # markupsafe calls this for format(), +, % and join()
        """``s`` as Markdown text that prints as written (trusted ``MD`` passes unchanged)."""
        if hasattr(s, "__html__"):
            return cls(s.__html__())
        return cls(str(s).translate(_TRANSLATION))


def text(value: Any) -> MD:
    """``value`` as literal text in a page (already safe :class:`MD` passes through)."""
    return MD.escape(value)


def code(value: Any) -> MD:
    """``value`` as inline code."""
    return MD("<code>{}</code>").format(value)


def code_block(lines: Iterable[Any], language: str = "bash") -> MD:
    """Lines of literal text in a fenced code block; no line can end the fence or include a file."""
    body = [" ".join(str(line).splitlines()) for line in lines]
    body = [f";{line}" if _SNIPPET_LINE.match(line) else line for line in body]
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return MD("\n".join([f"{fence}{language}", *body, fence]))


def link(label: Any, href: str) -> MD:
    """A link to a page or file of the site itself (``href`` is a relative path reportgen made)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/#-]*", href):
        raise ValueError(f"not a relative link of the site: {href!r}")
    return MD("[{}](" + href + ")").format(label)


def finalize(value: Any) -> Any:
    """Jinja's ``finalize``: every value a template prints is escaped unless it is already safe."""
    return value if hasattr(value, "__html__") else MD.escape(value)
