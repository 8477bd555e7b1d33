"""Text from results files becomes inert Markdown; Markdown that reportgen composes stays Markdown."""

from reportgen.report.escape import MD, code, code_block, link, text


def test_text_turns_every_active_character_into_a_reference() -> None:
    escaped = text("<img src=x onerror=alert(1)> [a](javascript:x) **b** `c` |d\nnew line")
    for raw in ("<", ">", "[", "]", "(", ")", "*", "`", "|", "\n"):
        assert raw not in escaped
    assert text(MD("**kept**")) == "**kept**" and text(3.5) == "3.5"


def test_composing_escapes_the_arguments_only() -> None:
    assert MD("**{}** faster").format("<b>") == "**&#60;b&#62;** faster"
    assert "plain*" + MD("**x**") == "plain&#42;**x**"
    assert MD(", ").join(["a|b", MD("`c`")]) == "a&#124;b, `c`"
    assert code("<x>") == "<code>&#60;x&#62;</code>"
    assert link("A [b]", "parity.md") == "[A &#91;b&#93;](parity.md)"


def test_code_blocks_cannot_be_closed_or_include_a_file() -> None:
    block = code_block(["reportgen run ```", "--8<-- \"secrets.txt\"", "two\nlines"])
    lines = block.split("\n")
    assert lines[0] == "````bash" and lines[-1] == "````"  # longer than any backtick run inside
    assert lines[2] == ';--8<-- "secrets.txt"' and lines[3] == "two lines"
