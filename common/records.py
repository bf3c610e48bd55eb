"""The kinds of record the hall files and their acceptance numbers (standard 9.2.5 受理编号):
two letters for the kind, then the date and a sequence ("TS20261127000042"). One table for the
hall that issues them, the actions that look them up and the staff console that shows them."""
from __future__ import annotations

CONSULTATION, COMPLAINT, APPOINTMENT, OPINION = "consultation", "complaint", "appointment", "opinion"
PREFIX = {CONSULTATION: "ZX", COMPLAINT: "TS", APPOINTMENT: "YY", OPINION: "YJ"}
# The kinds whose status the hall's /records/{number} answers (an opinion is public, not a case).
LOOKUP_KINDS = {PREFIX[k]: k for k in (COMPLAINT, CONSULTATION, APPOINTMENT)}


def kind_of(number: str) -> str | None:
    """The kind of a looked-up record by its number's prefix; None for any other number."""
    return LOOKUP_KINDS.get((number or "")[:2].upper())
