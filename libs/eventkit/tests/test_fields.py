"""The shared text types refuse control characters (C0, DEL and C1: none is ever typed, and
nothing shows them) and keep what people type, in any script."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from eventkit.fields import bounded_text, one_line


class Typed(BaseModel):
    line: Annotated[str, one_line(100)] = ""
    text: Annotated[str, bounded_text(100)] = ""


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1fb", "a\x7fb", "tier\x88", "a\x9fb", "a\x85b"])
def test_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        Typed(line=bad)
    with pytest.raises(ValidationError):
        Typed(text=bad)


@pytest.mark.parametrize("good", ["gold", "Zürich ☀", "G‹Ⱥ", "😍", "\U00023908", "a\xa0b"])
def test_what_people_type_is_kept(good: str) -> None:
    assert Typed(line=good, text=good).line == good


def test_free_text_keeps_its_tabs_and_line_breaks_one_line_does_not() -> None:
    assert Typed(text="one\ttwo\r\nthree").text == "one\ttwo\r\nthree"
    with pytest.raises(ValidationError):
        Typed(line="one\ntwo")
