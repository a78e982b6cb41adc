"""The typed input reader: every TOML and JSON input file a user can edit goes through here.

    from pydantic import Field
    from patentscope.inputs import InputModel, Year, Money, read_toml

    class Scenario(InputModel):
        name: NonEmptyStr
        start_year: Year
        price_per_kg: Money

    sc = read_toml("scenario.toml", Scenario)      # -> Scenario, or raises ConfigError

A failure is a :class:`~patentscope.errors.ConfigError` (exit 2) whose message is one line per
problem (at most :data:`MAX_REPORTED`), each ``file:line: key: what is wrong and what is allowed``:

    scenario.toml:7: start_year: Input should be less than or equal to 2100 (got 10000)
    scenario.toml:3: prise_per_kg: unknown key; did you mean 'price_per_kg'? (allowed: name, ...)
    scenario.toml:12: not UTF-8: byte 0xe9 at byte offset 311; save the file as UTF-8

What is checked, in order: the bytes are UTF-8 (the byte offset of the first bad byte is named);
the text parses (TOML syntax errors carry tomllib's line); nesting is at most :data:`MAX_DEPTH`
levels of tables/arrays (checked on the text before parsing, so a 100 000-deep ``[[[[...`` never
reaches the parser's recursion, and again on the parsed document; a ``RecursionError`` is turned
into the same message); no key anywhere looks like a credential (secrets come from the
environment only, see ``redact.secret_key_name``/``secret_shaped``); then the document is
validated against the model: types, ranges, unknown keys and tables (with did-you-mean), and the
model's own validators (reversed ranges: :func:`ordered`).

Why pydantic v2 (and not msgspec): both are installable and well kept. pydantic is already in
the environment (pydantic-settings and other tools depend on it), its ``ValidationError`` gives
every error at once with a structured location (``("licence", 2, "start")``), an error type and
the offending input, which is exactly what a ``file:line: key`` message needs; ``extra="forbid"``
reports each unknown key; constrained types (``Annotated[float, Field(ge=0,
allow_inf_nan=False)]``) are reusable across loaders; and validators can express cross-field
rules (reversed ranges). msgspec is faster but stops at the first error, and its error paths are
strings ("at `$.licence[2].start`") that would have to be re-parsed; input files here are small,
so speed does not matter and the complete error list does.

Line numbers: ``tomllib`` reports lines only for syntax errors, not for keys. After parsing,
:func:`toml_key_lines` makes one light pass over the text: it follows ``[table]`` and
``[[array.of.tables]]`` headers (counting array elements, so ``[[licence]]`` number 3 is
``("licence", 2)``), records the line of every ``key =`` / ``dotted.key =`` assignment under the
current table, and skips string contents (basic, literal and multi-line) and comments, so an
``=`` or ``[`` inside a string is not mistaken for structure. Keys inside inline tables and
elements of multi-line arrays are not indexed; an error there is reported at the line of the
nearest enclosing key that is. JSON keys are located the same way by :func:`json_key_lines`
(each path component's ``"key":`` searched after the position of the previous one).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from .errors import ConfigError
from .redact import scrub, secret_key_name, secret_shaped

__all__ = [
    "MAX_DEPTH", "MAX_REPORTED", "MAX_INPUT_BYTES", "InputModel", "Year", "InputDate", "Money", "NonNegFloat",
    "FiniteFloat", "Rate", "Probability", "Samples", "PositiveInt", "NonNegInt", "NonEmptyStr", "OfficeCode",
    "ordered", "check_order", "decode_utf8", "read_text", "parse_toml", "parse_json", "read_toml", "read_json",
    "validate", "toml_text", "read_toml_dict", "str_list", "require_tables", "toml_key_lines", "json_key_lines", "refuse_secrets", "check_depth", "RangeError",
]

MAX_DEPTH = 24          # tables + arrays + inline tables, counted together
MAX_REPORTED = 10       # problems listed in one message
MAX_INPUT_BYTES = 16 * 1024 * 1024  # a config/scenario file larger than this is refused

M = TypeVar("M", bound=BaseModel)


# ----------------------------------------------------------------------------------------------
# the base model and reusable constrained types


class InputModel(BaseModel):
    """Base class for input-file models: unknown keys are errors, values are not silently
    coerced across kinds (an int is not a string, a string is not a list), instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, str_strip_whitespace=False,
                              validate_default=True)


def _year_range(d: dt.date) -> dt.date:
    if not 1900 <= d.year <= 2100:
        raise ValueError(f"year {d.year} is outside 1900-2100")
    return d


_Finite = {"allow_inf_nan": False}

Year = Annotated[int, Field(strict=True, ge=1900, le=2100, description="a calendar year, 1900-2100")]
"""A calendar year 1900..2100 (an int; a string or float is a type error)."""
InputDate = Annotated[dt.date, AfterValidator(_year_range)]
"""A date (TOML date or ``"YYYY-MM-DD"``) whose year is in 1900..2100."""
Money = Annotated[float, Field(ge=0, **_Finite)]
"""A finite, non-negative amount of money (prices, sales, payments)."""
NonNegFloat = Money
FiniteFloat = Annotated[float, Field(**_Finite)]
"""Any finite float (no NaN, no +-inf)."""
Rate = Annotated[float, Field(ge=0, le=1, **_Finite)]
"""A fraction 0..1 (royalty rate, share, discount rate)."""
Probability = Rate
Samples = Annotated[int, Field(strict=True, ge=1, le=10_000_000)]
"""A Monte Carlo sample count, 1..10^7."""
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
NonNegInt = Annotated[int, Field(strict=True, ge=0)]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A string that is not empty or blank (keywords, names)."""
OfficeCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""A two-letter office / country code (``US``, ``EP``, ``WO``...)."""


class RangeError(ValueError):
    """A cross-field problem (a reversed range); ``key`` names the field the message is put on."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


def check_order(lo: Any, hi: Any, lo_key: str, hi_key: str, *, strict: bool = False) -> None:
    """Raise :class:`RangeError` (on ``hi_key``) unless ``lo <= hi`` (``lo < hi`` when strict).
    ``None`` on either side is not checked (an open end)."""
    if lo is None or hi is None:
        return
    bad = lo >= hi if strict else lo > hi
    if bad:
        rel = "after" if strict else "on or after"
        raise RangeError(hi_key, f"{hi_key} ({hi}) is before {lo_key} ({lo}); the range is reversed: "
                                 f"{hi_key} must be {rel} {lo_key}")


def ordered(lo_key: str, hi_key: str, *, strict: bool = False) -> Any:
    """A model validator refusing a reversed range: declare it in a model body as
    ``_dates = ordered("from", "to")`` (field names or aliases)."""

    def _check(self: BaseModel) -> BaseModel:
        fields = type(self).model_fields

        def get(key: str) -> Any:
            for name, f in fields.items():
                if key in (name, f.alias):
                    return getattr(self, name)
            raise AttributeError(key)

        check_order(get(lo_key), get(hi_key), lo_key, hi_key, strict=strict)
        return self

    return model_validator(mode="after")(_check)


# ----------------------------------------------------------------------------------------------
# bytes -> text


def decode_utf8(data: bytes, where: str) -> str:
    """Strict UTF-8 (a leading BOM is dropped); a bad byte raises naming its line and offset."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ConfigError(f"{where}:{line}: not UTF-8: byte 0x{data[e.start]:02x} at byte offset {e.start} "
                          f"cannot be decoded; save the file as UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def read_text(path: str | Path, *, what: str = "input file", max_bytes: int = MAX_INPUT_BYTES) -> str:
    """Read a small UTF-8 text file, refusing special files (FIFOs, devices, directories) and
    oversized files with a message naming the path (and the resolved path when it is a link)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as e:
        raise ConfigError(f"cannot read {what} {p}: {e.strerror}") from None
    import stat as _stat

    if not _stat.S_ISREG(st.st_mode):
        real = f" (resolves to {p.resolve()})" if p.is_symlink() else ""
        raise ConfigError(f"{what} {p}{real} is not a regular file; give the path of a {what}")
    if st.st_size > max_bytes:
        raise ConfigError(f"{what} {p} is {st.st_size} bytes; at most {max_bytes} are read")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {what} {p}: {e.strerror}") from None
    return decode_utf8(data, str(p))


# ----------------------------------------------------------------------------------------------
# a light scanner for TOML text: key lines and nesting depth


def _split_key(s: str) -> list[str]:
    """``a."b.c".d`` -> [a, b.c, d]."""
    parts: list[str] = []
    buf = ""
    i = 0
    while i < len(s):
        c = s[i]
        if c in "\"'":
            j = s.find(c, i + 1)
            while c == '"' and j > 0 and s[j - 1] == "\\":
                j = s.find(c, j + 1)
            j = len(s) if j < 0 else j
            buf += s[i + 1:j]
            i = j + 1
            continue
        if c == ".":
            parts.append(buf.strip())
            buf = ""
        else:
            buf += c
        i += 1
    parts.append(buf.strip())
    return [p for p in parts if p != ""] or [""]


def _key_end(line: str) -> int:
    """Index of the ``=`` ending a key in ``line`` (quotes respected), or -1."""
    i = 0
    while i < len(line):
        c = line[i]
        if c in "\"'":
            j = line.find(c, i + 1)
            if j < 0:
                return -1
            i = j + 1
            continue
        if c == "=":
            return i
        if c == "#":
            return -1
        i += 1
    return -1


class _Scan:
    """State of one pass over TOML text (see the module docstring)."""

    def __init__(self, text: str, max_depth: int):
        self.lines: dict[tuple[Any, ...], int] = {}
        self.max_depth = max_depth
        self.too_deep: int | None = None  # first line where nesting exceeded max_depth
        self.depth = 0
        self.mls: str | None = None  # inside a multi-line string: its delimiter
        self._aot: dict[tuple[Any, ...], int] = {}
        self._run(text)

    def _resolve(self, parts: list[str]) -> tuple[Any, ...]:
        out: list[Any] = []
        for p in parts:
            out.append(p)
            key = tuple(out)
            if key in self._aot:
                out.append(self._aot[key])
        return tuple(out)

    def _value(self, s: str, lineno: int) -> None:
        """Scan value text for strings, comments and brackets."""
        i = 0
        n = len(s)
        while i < n:
            if self.mls:
                j = s.find(self.mls, i)
                if j < 0:
                    return
                i = j + 3
                while i < n and s[i] == self.mls[0]:  # up to two extra quotes may close the string
                    i += 1
                self.mls = None
                continue
            c = s[i]
            if c == "#":
                return
            if c in "\"'":
                if s.startswith(c * 3, i):
                    self.mls = c * 3
                    i += 3
                    continue
                j = i + 1
                while j < n and s[j] != c:
                    j += 2 if (c == '"' and s[j] == "\\") else 1
                i = j + 1
                continue
            if c in "[{":
                self.depth += 1
                if self.depth > self.max_depth and self.too_deep is None:
                    self.too_deep = lineno
            elif c in "]}":
                self.depth = max(0, self.depth - 1)
            i += 1

    def _run(self, text: str) -> None:
        current: tuple[Any, ...] = ()
        for lineno, raw in enumerate(text.splitlines(), 1):
            if self.mls or self.depth > 0:
                self._value(raw, lineno)
                continue
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[["):
                end = line.find("]]")
                parts = _split_key(line[2:end if end > 0 else None])
                head = self._resolve(parts[:-1]) + (parts[-1],)
                idx = self._aot.get(head, -1) + 1
                self._aot[head] = idx
                current = head + (idx,)
                self.lines.setdefault(head, lineno)
                self.lines[current] = lineno
                if len(current) > self.max_depth and self.too_deep is None:
                    self.too_deep = lineno
                continue
            if line.startswith("["):
                end = line.find("]")
                current = self._resolve(_split_key(line[1:end if end > 0 else None]))
                for k in range(1, len(current) + 1):
                    self.lines.setdefault(current[:k], lineno)
                if len(current) > self.max_depth and self.too_deep is None:
                    self.too_deep = lineno
                continue
            eq = _key_end(line)
            if eq < 0:
                continue
            full = current + tuple(_split_key(line[:eq]))
            for k in range(len(current) + 1, len(full) + 1):
                self.lines.setdefault(full[:k], lineno)
            self._value(line[eq + 1:], lineno)


def toml_key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """``{("sources", "epo_ops", "rate"): 12, ("licence", 2): 30, ...}`` for TOML text."""
    return _Scan(text, MAX_DEPTH).lines


def json_key_lines(text: str, locs: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], int]:
    """Lines of the given JSON paths: each string component's ``"key":`` is searched after the
    position where the previous component was found (list indices are skipped)."""
    out: dict[tuple[Any, ...], int] = {}
    for loc in locs:
        pos = 0
        for k in range(len(loc)):
            part = loc[k]
            if not isinstance(part, str):
                continue
            m = re.compile(re.escape(json.dumps(part)) + r"\s*:").search(text, pos)
            if not m:
                break
            pos = m.end()
            out[loc[:k + 1]] = text.count("\n", 0, m.start()) + 1
    return out


def _line_of(loc: tuple[Any, ...], lines: Mapping[tuple[Any, ...], int]) -> int | None:
    for k in range(len(loc), 0, -1):
        if loc[:k] in lines:
            return lines[loc[:k]]
    return None


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for p in loc:
        if isinstance(p, int):
            out += f"[{p + 1}]"  # people count array elements from 1
        else:
            s = str(p)
            s = s if re.fullmatch(r"[A-Za-z0-9_-]+", s) else json.dumps(s)
            out += ("." if out else "") + s
    return out or "(top level)"


# ----------------------------------------------------------------------------------------------
# parsing


def check_depth(doc: Any, where: str, lines: Mapping[tuple[Any, ...], int] | None = None,
                max_depth: int = MAX_DEPTH) -> None:
    """Refuse a parsed document nested deeper than ``max_depth`` (iterative: no recursion)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
    while stack:
        node, loc = stack.pop()
        if len(loc) > max_depth:
            line = _line_of(loc, lines or {})
            at = f"{where}:{line}" if line else where
            raise ConfigError(f"{at}: {_dotted(loc[:max_depth])}: nested more than {max_depth} levels deep; "
                              f"at most {max_depth} levels of tables/arrays are allowed")
        if isinstance(node, dict):
            stack.extend((v, loc + (k,)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, loc + (i,)) for i, v in enumerate(node))


def _too_deep(where: str, line: int | None) -> ConfigError:
    at = f"{where}:{line}" if line else where
    return ConfigError(f"{at}: nested more than {MAX_DEPTH} levels deep; "
                       f"at most {MAX_DEPTH} levels of tables/arrays are allowed")


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def parse_toml(text: str, where: str, *, secrets: bool = True) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Parse TOML text -> (document, key lines), with syntax, depth and secret checks."""
    scan = _Scan(text, MAX_DEPTH)
    if scan.too_deep is not None:
        raise _too_deep(where, scan.too_deep)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _TOML_AT.search(msg)
        if m:
            raise ConfigError(f"{where}:{m.group(1)}: not valid TOML: {msg[:m.start()]} (column {m.group(2)}); "
                              f"see https://toml.io/en/v1.0.0") from None
        raise ConfigError(f"{where}: not valid TOML: {msg}; see https://toml.io/en/v1.0.0") from None
    except RecursionError:
        raise _too_deep(where, None) from None
    check_depth(doc, where, scan.lines)
    if secrets:
        refuse_secrets(doc, where, scan.lines)
    return doc, scan.lines


def require_tables(doc: Mapping[str, Any], names: tuple[str, ...], where: str,
                   lines: Mapping[tuple[Any, ...], int] | None = None) -> None:
    """Refuse a document where one of ``names`` is present but not a table (``dates = "1990"``)."""
    for name in names:
        if name in doc and not isinstance(doc[name], dict):
            line = _line_of((name,), lines or {})
            at = f"{where}:{line}" if line else where
            raise ConfigError(f"{at}: {name}: must be a table ([{name}] with its keys){_got(doc[name])}")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON input (numbers must be finite)")


def parse_json(text: str, where: str, *, secrets: bool = True) -> Any:
    """Parse JSON text with the same depth, finiteness and secret checks as TOML."""
    depth = 0
    for ch in text:  # cheap pre-check; brackets inside strings only over-count, never under-count
        if ch in "[{":
            depth += 1
            if depth > 4 * MAX_DEPTH:
                break
        elif ch in "]}":
            depth -= 1
    try:
        doc = json.loads(text, parse_constant=_no_constants) if depth <= 4 * MAX_DEPTH else None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{where}:{e.lineno}: not valid JSON: {e.msg} (column {e.colno})") from None
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None
    except RecursionError:
        raise _too_deep(where, None) from None
    if depth > 4 * MAX_DEPTH:
        raise _too_deep(where, None)
    check_depth(doc, where)
    if secrets:
        refuse_secrets(doc, where, {})
    return doc


def refuse_secrets(doc: Any, where: str, lines: Mapping[tuple[Any, ...], int]) -> None:
    """Refuse any key whose name says credential (whatever its value: string, int, array, table)
    and any string value anywhere (arrays included) shaped like one: a URL with a password, a
    Bearer header, ``token=...``, or the value of a secret environment variable."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
    while stack:
        node, loc = stack.pop()
        why = None
        if loc and isinstance(loc[-1], str) and secret_key_name(loc[-1]) and node not in ("", None, [], {}):
            why = "the key name says it holds a credential"
        elif isinstance(node, str):
            why = secret_shaped(node)
        elif isinstance(node, int) and not isinstance(node, bool) and node > 10**12:
            why = secret_shaped(str(node))
        if why:
            line = _line_of(loc, lines) if lines else None
            at = f"{where}:{line}" if line else where
            raise ConfigError(
                f"{at}: {_dotted(loc)}: looks like a secret ({why}); secrets are read only from the environment "
                f"(USPTO_ODP_API_KEY, PATENTSVIEW_API_KEY, EPO_OPS_KEY, EPO_OPS_SECRET); remove it from the file")
        if isinstance(node, dict):
            stack.extend((v, loc + (k,)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, loc + (i,)) for i, v in enumerate(node))


# ----------------------------------------------------------------------------------------------
# validation -> file:line: key: message


def _models_in(tp: Any) -> list[type[BaseModel]]:
    """BaseModel classes reachable in a type annotation (list[M], dict[str, M], M | None...)."""
    out: list[type[BaseModel]] = []
    stack = [tp]
    while stack:
        t = stack.pop()
        if isinstance(t, type) and issubclass(t, BaseModel):
            out.append(t)
            continue
        stack.extend(typing.get_args(t))
    return out


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the keys at ``loc`` (for did-you-mean)."""
    cur: type[BaseModel] | None = model
    for part in loc:
        if cur is None:
            return None
        if isinstance(part, int):
            continue
        field = next((f for n, f in cur.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            # a dict[str, Model] key or a union tag: stay on the same model and let the next part decide
            continue
        models = _models_in(field.annotation)
        cur = models[0] if models else None
    return cur


def _loc_without_tags(loc: tuple[Any, ...], model: type[BaseModel]) -> tuple[Any, ...]:
    """Pydantic puts union member / validator names into ``loc`` ("function-after[...]", "list[str]",
    model class names); keep only what a user wrote in the file."""
    out = []
    for p in loc:
        if isinstance(p, str) and (re.search(r"[\[\]()]", p) or (p[:1].isupper() and p in _all_model_names(model))):
            continue
        out.append(p)
    return tuple(out)


def _all_model_names(model: type[BaseModel]) -> set[str]:
    seen: set[str] = set()
    stack: list[type[BaseModel]] = [model]
    while stack:
        m = stack.pop()
        if m.__name__ in seen:
            continue
        seen.add(m.__name__)
        for f in m.model_fields.values():
            stack.extend(_models_in(f.annotation))
    return seen


def _got(value: Any) -> str:
    if isinstance(value, (dict, list)):
        kind = "a table" if isinstance(value, dict) else "an array"
        return f" (got {kind})"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value if len(value) <= 60 else value[:57] + "...")
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    else:
        text = str(value)[:60]
    return f" (got {type(value).__name__} {scrub(text)})"


_TYPE_WORDS = {
    "model_type": "a table", "dict_type": "a table", "model_attributes_type": "a table",
    "list_type": "an array", "tuple_type": "an array", "set_type": "an array",
    "string_type": "a string (in quotes)", "int_type": "an integer", "int_from_float": "an integer",
    "int_parsing": "an integer", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "date_type": "a date (YYYY-MM-DD)", "date_parsing": "a date (YYYY-MM-DD)", "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
}


def _message(err: Mapping[str, Any], model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    etype = err.get("type", "")
    if etype == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = _field_names(owner) if owner else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        kind = "table" if isinstance(err.get("input"), dict) else "key"
        return f"unknown {kind}{hint} (allowed here: {', '.join(allowed) or 'none'})"
    if etype == "missing":
        return "required key is missing; add it"
    ctx = err.get("ctx") or {}
    msg = str(err.get("msg", "invalid value"))
    if isinstance(ctx.get("error"), RangeError):
        return str(ctx["error"])
    msg = re.sub(r"^Value error, ", "", msg)
    if etype == "finite_number":
        msg = "must be a finite number (NaN and infinity are not allowed)"
    elif etype in _TYPE_WORDS:
        msg = f"must be {_TYPE_WORDS[etype]}"
    return msg + _got(err.get("input"))


def validate(doc: Any, model: type[M], where: str, lines: Mapping[tuple[Any, ...], int] | None = None,
             text: str | None = None) -> M:
    """Validate a parsed document against ``model``; errors become one ConfigError."""
    try:
        return model.model_validate(doc)
    except ValidationError as e:
        errors = e.errors(include_url=False)
    except RecursionError:
        raise _too_deep(where, None) from None
    rows: list[tuple[int, str]] = []
    locs: list[tuple[Any, ...]] = []
    for err in errors:
        loc = _loc_without_tags(tuple(err.get("loc", ())), model)
        ctx = err.get("ctx") or {}
        if isinstance(ctx.get("error"), RangeError):
            loc = loc + (ctx["error"].key,)
        locs.append(loc)
    if lines is None and text is not None:
        lines = json_key_lines(text, locs)
    seen: set[str] = set()
    for err, loc in zip(errors, locs, strict=True):
        line = _line_of(loc, lines or {}) if loc else None
        at = f"{where}:{line}" if line else where
        row = f"{at}: {_dotted(loc)}: {_message(err, model, loc)}"
        if row not in seen:
            seen.add(row)
            rows.append((line or 0, row))
    rows.sort(key=lambda r: r[0])
    shown = [r for _, r in rows[:MAX_REPORTED]]
    if len(rows) > MAX_REPORTED:
        shown.append(f"... and {len(rows) - MAX_REPORTED} more problems in {where}")
    raise ConfigError("\n".join(shown))


def read_toml(path: str | Path, model: type[M], *, what: str = "input file", secrets: bool = True,
              where: str | None = None) -> M:
    """Read, parse and validate a TOML file into ``model`` (a :class:`InputModel` subclass)."""
    text = read_text(path, what=what)
    return toml_text(text, model, where or str(path), secrets=secrets)


def toml_text(text: str, model: type[M], where: str, *, secrets: bool = True) -> M:
    """:func:`read_toml` for text already in hand (a packaged default, a test string)."""
    doc, lines = parse_toml(text, where, secrets=secrets)
    return validate(doc, model, where, lines)


def read_json(path: str | Path, model: type[M], *, what: str = "input file", secrets: bool = True,
              where: str | None = None) -> M:
    """Read, parse and validate a JSON file into ``model``."""
    text = read_text(path, what=what)
    w = where or str(path)
    doc = parse_json(text, w, secrets=secrets)
    return validate(doc, model, w, None, text)


def read_toml_dict(path: str | Path, *, what: str = "input file", secrets: bool = True) -> dict[str, Any]:
    """The parsed document with all text-level checks (UTF-8, syntax, depth, secrets) but no
    model -- for loaders that validate by hand while they move to a model."""
    return parse_toml(read_text(path, what=what), str(path), secrets=secrets)[0]


def str_list(*, min_items: int = 0) -> Any:
    """``list[NonEmptyStr]`` with a minimum length (a string given for a list is a type error)."""
    return Annotated[list[NonEmptyStr], Field(min_length=min_items)]

