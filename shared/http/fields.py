"""The constrained types of every request model, path and query parameter, defined once.

Every string has a length bound and refuses the characters that have no business in a record: C0
controls (U+0000-U+001F; free text keeps tab and newline), DEL and C1 (U+007F-U+009F), and the bidi
overrides and isolates (U+202A-U+202E, U+2066-U+2069) that make a text read differently from what
is stored. Single-line fields (names, codes, ids) also refuse tab, newline and the Unicode line and
paragraph separators. A refusal is a 422 problem that names the field. The same pattern is published
in the OpenAPI document, so clients and the fuzz tests see the rule too.

Every list has a bound, and so has every page of a listing. The bounds are listed in the README.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.errors import InvalidCommand

# -- bounds ---------------------------------------------------------------------------------------

MAX_NAME = 200  # a person, legal entity, production unit, product, organisation
MAX_LABEL = 40  # a version, document kind, mark, registration number
MAX_CODE = 40  # a scheme code
MAX_IDENTIFIER = 64  # a record id or certificate number
MAX_ADDRESS = 500
MAX_LINE = 500  # one line of free text: a document's title or reference, a declared interest
MAX_TEXT = 5000  # free text: scope, rationale, grounds, description, summary, evidence
MAX_QUERY = 200  # a search term
MAX_CURSOR = 200

MAX_PRODUCTS = 200
MAX_CONSULTANCY = 50
MAX_INTERESTS = 50
MAX_COMMITTEE = 12
MAX_BASIS = 50
MAX_DOCUMENTS = 50

PAGE_DEFAULT, PAGE_MAX = 50, 200  # certificates (staff listing and worklist)
TRAIL_PAGE_DEFAULT, TRAIL_PAGE_MAX = 100, 500  # audit-trail entries

# -- characters -----------------------------------------------------------------------------------

# As regular-expression escapes, which Python and JSON Schema (ECMA 262) read alike.
_BIDI = r"\u202a-\u202e\u2066-\u2069"
_C1 = r"\u007f-\u009f"
_FORBIDDEN_IN_TEXT = rf"\u0000-\u0008\u000b-\u001f{_C1}{_BIDI}"  # tab (U+0009) and newline (U+000A) allowed
_FORBIDDEN_IN_LINE = rf"\u0000-\u001f{_C1}\u2028\u2029{_BIDI}"

TEXT_PATTERN = rf"^[^{_FORBIDDEN_IN_TEXT}]*$"
LINE_PATTERN = rf"^[^{_FORBIDDEN_IN_LINE}]*$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

_IN_TEXT = re.compile(f"[{_FORBIDDEN_IN_TEXT}]")
_IN_LINE = re.compile(f"[{_FORBIDDEN_IN_LINE}]")


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char in "\t\n":
        return f"a tab or line break ({code}); this field is one line"
    if "\u2028" <= char <= "\u2029":
        return f"a line or paragraph separator ({code}); this field is one line"
    if "\u202a" <= char <= "\u2069":
        return f"a bidirectional override or isolate ({code})"
    return f"a control character ({code})"


def _refusing(forbidden: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        found = forbidden.search(value)
        if found:
            raise ValueError(f"contains {_describe(found.group())} at position {found.start()}")
        return value

    return AfterValidator(check)


def refusal_in_line(value: str) -> str | None:
    """Why ``value`` may not stand as one line of text (a name, an id, a token's subject), or None."""
    found = _IN_LINE.search(value)
    return f"contains {_describe(found.group())} at position {found.start()}" if found else None


_ONE_LINE = _refusing(_IN_LINE)
_FREE_TEXT = _refusing(_IN_TEXT)


def _line(min_length: int, max_length: int, **extra: Any) -> Any:
    return Field(min_length=min_length, max_length=max_length, json_schema_extra={"pattern": LINE_PATTERN}, **extra)


def _text(min_length: int, max_length: int) -> Any:
    return Field(min_length=min_length, max_length=max_length, json_schema_extra={"pattern": TEXT_PATTERN})


# -- body fields ----------------------------------------------------------------------------------

Name = Annotated[str, _line(1, MAX_NAME), _ONE_LINE]
NameOrEmpty = Annotated[str, _line(0, MAX_NAME), _ONE_LINE]
PersonName = Annotated[
    str,
    _line(1, MAX_NAME, description="A person as they are named; compared by shared.domain.person_key (ADR 0007)"),
    _ONE_LINE,
]
Label = Annotated[str, _line(1, MAX_LABEL), _ONE_LINE]
Code = Annotated[str, Field(min_length=1, max_length=MAX_CODE, pattern=CODE_PATTERN)]
Identifier = Annotated[str, _line(1, MAX_IDENTIFIER), _ONE_LINE]
Line = Annotated[str, _line(1, MAX_LINE), _ONE_LINE]
Address = Annotated[str, _text(1, MAX_ADDRESS), _FREE_TEXT]
Text = Annotated[str, _text(1, MAX_TEXT), _FREE_TEXT]
TextOrEmpty = Annotated[str, _text(0, MAX_TEXT), _FREE_TEXT]


def at_most(max_items: int, *, at_least: int = 0) -> Any:
    """The bound of a list field: ``Annotated[list[Product], at_most(MAX_PRODUCTS, at_least=1)]``."""
    return Field(min_length=at_least, max_length=max_items)


class Strict(BaseModel):
    """A request body: unknown fields refused, surrounding whitespace trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- path and query parameters --------------------------------------------------------------------

PathId = Annotated[str, Path(max_length=MAX_IDENTIFIER, json_schema_extra={"pattern": LINE_PATTERN}), _ONE_LINE]
IdParam = Annotated[
    Annotated[str, _ONE_LINE] | None, Query(max_length=MAX_IDENTIFIER, json_schema_extra={"pattern": LINE_PATTERN})
]
LabelParam = Annotated[
    Annotated[str, _ONE_LINE] | None, Query(max_length=MAX_LABEL, json_schema_extra={"pattern": LINE_PATTERN})
]
SearchParam = Annotated[
    Annotated[str, _ONE_LINE] | None, Query(max_length=MAX_QUERY, json_schema_extra={"pattern": LINE_PATTERN})
]
CursorParam = Annotated[
    Annotated[str, _ONE_LINE] | None,
    Query(max_length=MAX_CURSOR, description="next_cursor of the previous page; omit for the first page"),
]

# -- cursors --------------------------------------------------------------------------------------


def encode_cursor(kind: str, position: str) -> str:
    """An opaque page cursor: where the last page ended, for one kind of listing."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> str:
    """The position a cursor of ``kind`` carries; any other cursor is a 422 ``invalid-command``."""
    refused = InvalidCommand("cursor is not one this listing gave out; start again without it")
    try:
        text = base64.b64decode((cursor + "=" * (-len(cursor) % 4)).encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    prefix = f"{kind}:"
    if not text.startswith(prefix) or len(text) == len(prefix) or _IN_LINE.search(text):
        raise refused
    return text[len(prefix):]
