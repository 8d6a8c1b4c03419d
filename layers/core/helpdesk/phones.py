"""Best-effort E.164 for the numbers telephony providers send, so one caller is one key.

Providers disagree: Twilio sends "+79161234567", Zadarma "79161234567", a PBX may send
"8 (916) 123-45-67" or "00 7 916 ...". This only reshapes what is unambiguous; it never guesses
a country for a short local number, and leaves extensions, SIP/client ids and "anonymous" alone.
"""

from __future__ import annotations

import re

# Punctuation people and PBXs put inside numbers.
_SEPARATORS = re.compile(r"[\s\-()\[\]]")
_DIGITS = re.compile(r"\d+")
# Below this many digits it is an internal extension (Zadarma's are 3 digits), not a number.
_MIN_NUMBER_DIGITS = 7
# At least this many bare digits: a full international number missing its '+'.
_MIN_INTERNATIONAL_DIGITS = 10


def normalize_phone(raw: str | None) -> str | None:
    """Return `raw` as E.164 with '+' when that is unambiguous, else as given (None if empty)."""
    if raw is None:
        return None
    given = raw.strip()
    if not given:
        return None
    cleaned = _SEPARATORS.sub("", given)
    if cleaned.startswith("+"):
        digits = cleaned[1:]
        return "+" + digits if _DIGITS.fullmatch(digits) else given
    if not _DIGITS.fullmatch(cleaned):
        return given  # anonymous, unknown, client:alice, sip:100@pbx ...
    if cleaned.startswith("00"):
        rest = cleaned[2:]
        return "+" + rest if len(rest) >= _MIN_NUMBER_DIGITS else given
    if len(cleaned) == 11 and cleaned.startswith("8"):
        return "+7" + cleaned[1:]  # Russian trunk prefix: 8 916 ... is +7 916 ...
    if len(cleaned) >= _MIN_INTERNATIONAL_DIGITS:
        return "+" + cleaned
    if len(cleaned) < _MIN_NUMBER_DIGITS:
        return given  # an extension
    return cleaned  # a local number: no country can be told
