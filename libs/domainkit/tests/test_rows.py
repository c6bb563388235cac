from dataclasses import dataclass, field

import pytest
from pydantic import BaseModel

from domainkit.rows import field_names, from_attrs, from_row


@dataclass(frozen=True)
class Held:
    payment_id: str
    amount: int
    lines: tuple[str, ...] = ()
    seen: list[str] = field(default_factory=list, init=False)


class Event(BaseModel):
    payment_id: str
    amount: int


def test_a_dataclass_takes_each_init_field_from_the_column_of_its_name():
    row = {"payment_id": "pay_1", "amount": 500, "lines": ("a",), "extra": "ignored"}

    assert from_row(Held, row) == Held("pay_1", 500, ("a",))


def test_given_fields_win_over_the_row_and_need_no_column():
    row = {"payment_id": "pay_1", "amount": 500}

    assert from_row(Held, row, lines=("x", "y")) == Held("pay_1", 500, ("x", "y"))


def test_a_field_the_row_lacks_and_no_one_gave_is_a_key_error_not_a_silent_default():
    with pytest.raises(KeyError, match="lines"):
        from_row(Held, {"payment_id": "pay_1", "amount": 500})


def test_a_pydantic_model_is_built_from_its_model_fields():
    assert from_row(Event, {"payment_id": "pay_2", "amount": 7, "other": 1}) == Event(
        payment_id="pay_2", amount=7
    )
    assert field_names(Event) == ("payment_id", "amount")


def test_a_class_with_no_declared_fields_is_refused():
    with pytest.raises(TypeError):
        field_names(dict)


class Leg:
    """A source with a computed attribute (a property counts like a field)."""

    def __init__(self, amount: int, fee: int) -> None:
        self.amount, self.fee = amount, fee

    @property
    def payment_id(self) -> str:
        return f"pay_{self.amount}"


def test_from_attrs_reads_attributes_and_properties_of_the_same_names():
    assert from_attrs(Held, Leg(300, 30), lines=()) == Held("pay_300", 300, ())
    with pytest.raises(AttributeError):
        from_attrs(Held, Leg(300, 30))  # no `lines` on a leg, none given
