"""Every number a client sends for paging is range-checked where it is parsed (paging.py), and
list answers stay under the message budget."""

import base64

import pytest

from services.platform.paging import (
    MAX_POSITION,
    MAX_TOKEN_CHARS,
    InvalidPage,
    decode_page_token,
    encode_page_token,
    fitting,
    newest_fitting,
    page,
    page_size,
    page_violations,
    resume_violation,
    sequence_violations,
)


def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_the_largest_position_round_trips_and_one_more_is_refused():
    assert decode_page_token(encode_page_token(MAX_POSITION)) == MAX_POSITION
    for position in (MAX_POSITION + 1, 2**64, 10**19 - 1):  # all within the token's 19 digits
        with pytest.raises(InvalidPage):
            decode_page_token(token(f"v1:{position}"))


@pytest.mark.parametrize("bad", [token("v1:" + "9" * 20), "A" * (MAX_TOKEN_CHARS + 4), "A" * 1_000_000, token("v1:-1")])
def test_long_and_negative_tokens_are_refused_before_decoding(bad):
    _, _, problems = page_violations(0, bad)
    assert problems == {"page_token": "not a token from a previous response"}


@pytest.mark.parametrize("size", [-1, -(2**31), 2**31 - 1, 501])
def test_page_sizes_out_of_range_name_the_range(size):
    assert page_violations(size, "")[2] == {"page_size": "1-500, or 0 for 50"}
    with pytest.raises(InvalidPage, match="1-100, or 0 for 20"):
        page_size(size if size != 501 else 101, 20, 100)


@pytest.mark.parametrize(
    ("resume_after", "head", "problem"),
    [
        (-1, 5, "0 for a snapshot, or a position received before"),
        (-(2**63), 5, "0 for a snapshot, or a position received before"),
        (2**63, 5, "0 for a snapshot, or a position received before"),
        (2**63 - 1, 5, "beyond the newest position (5)"),
        (6, 5, "beyond the newest position (5)"),
        (5, 5, None),
        (0, 0, None),
    ],
)
def test_resume_positions_are_range_checked(resume_after, head, problem):
    assert resume_violation(resume_after, head) == problem


def test_a_page_holds_what_fits_the_budget_and_at_least_one_item():
    assert fitting([400, 400, 400], lambda n: n, budget=1000) == 2
    assert fitting([400, 600, 1], lambda n: n, budget=1000) == 2
    assert fitting([5000, 1], lambda n: n, budget=1000) == 1
    assert fitting([], lambda n: n, budget=1000) == 0
    assert fitting([1] * 10, lambda n: n, budget=1000) == 10


class Sized:
    def __init__(self, size: int) -> None:
        self.size = size

    def ByteSize(self) -> int:
        return self.size


def test_a_page_stopped_by_the_budget_continues_after_its_last_item():
    items = [Sized(2_000_000), Sized(2_000_000), Sized(10)]
    shown, token = page(items, [30, 20, 10], fetched_more=False)
    assert shown == items[:1] and decode_page_token(token) == 30
    shown, token = page(items[2:], [10], fetched_more=False)
    assert shown == items[2:] and token == ""
    shown, token = page(items[2:], [10, 5], fetched_more=True)  # one more was fetched than shown
    assert decode_page_token(token) == 10
    assert page([], [], fetched_more=False) == ([], "")


def test_a_capped_range_keeps_the_newest_that_fit():
    items = [Sized(10), Sized(2_000_000), Sized(2_000_000)]  # oldest first
    assert newest_fitting(items) == (items[2:], True)
    assert newest_fitting(items[:2]) == (items[:2], False)


@pytest.mark.parametrize("sequence", [1, 2**63 - 1, "1", "42", "9" * 18])
def test_a_positive_sequence_is_accepted_from_a_proto_field_or_a_url_path(sequence: int | str) -> None:
    assert sequence_violations(sequence) == {}


@pytest.mark.parametrize("sequence", [0, -1, "", "0", "-1", "1.5", "abc", "9" * 19, "²", "٣", " 1"])
def test_anything_else_is_refused_as_not_a_positive_sequence_number(sequence: int | str) -> None:
    assert sequence_violations(sequence, "filter.sequence") == {"filter.sequence": "a positive sequence number"}
