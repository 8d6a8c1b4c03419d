import pytest

from helpdesk.phones import normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+79161234567", "+79161234567"),
        ("79161234567", "+79161234567"),  # Zadarma: full number without '+'
        ("+7 (916) 123-45-67", "+79161234567"),
        ("8 (916) 123-45-67", "+79161234567"),  # Russian trunk prefix
        ("89161234567", "+79161234567"),
        ("8 800 555-35-35", "+78005553535"),
        ("0079161234567", "+79161234567"),  # international "00" prefix
        ("00 44 20 7946 0958", "+442079460958"),
        ("14158675309", "+14158675309"),
        ("+1 415 867 5309", "+14158675309"),
        ("4158675309", "+4158675309"),  # 10 bare digits are taken as international
        ("  +79161234567\t", "+79161234567"),
        ("[+7] 916 1234567", "+79161234567"),
    ],
)
def test_numbers_become_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["100", "101", "5", "anonymous", "Anonymous", "unknown", "client:alice", "sip:100@pbx.local"],
)
def test_extensions_and_names_are_returned_as_given(raw: str) -> None:
    assert normalize_phone(raw) == raw


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_is_none(raw: str | None) -> None:
    assert normalize_phone(raw) is None


def test_short_local_number_gets_no_country() -> None:
    # 7-9 digits: a local number; no country can be told, so no '+'.
    assert normalize_phone("123-45-67") == "1234567"


def test_eleven_digits_not_starting_with_8_keep_their_country() -> None:
    assert normalize_phone("38 067 123 45 67") == "+380671234567"
    assert normalize_phone("74951234567") == "+74951234567"


def test_double_zero_without_a_number_is_left_alone() -> None:
    assert normalize_phone("00123") == "00123"
