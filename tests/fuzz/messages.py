"""Hypothesis strategies built from protobuf descriptors, and malformed request bytes.

``requests(descriptor, pool)`` draws messages of any type: every scalar at and around its
bounds, strings empty, huge, unicode, numeric-looking and taken from ``pool`` (ids the
test world really has, so draws reach past "not found"), bytes, nested and repeated
messages, maps, enum numbers the contract does not declare, and ``Timestamp`` /
``Duration`` values outside protobuf's range. ``malformed(descriptor)`` lists request
bytes that do not decode: truncated varints and lengths, and invalid UTF-8 in each
string field.
"""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

F = FieldDescriptor
_INT_BOUNDS = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1), F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1), F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1), F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1), F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1), F.TYPE_FIXED64: (0, 2**64 - 1),
}
EDGE_TEXT = [
    "", " ", "0", "-1", "1", "12.50", "0.001", "1e3", "1E-7", "NaN", "-Infinity", "9" * 40,
    "99999999999999999999.99", "-0", "١٢٣", "１２", "x" * 2000, "2026-02-30", "9999-12-31",
    "0001-01-01", "\x00", "a\nb", "😀" * 10, "张三", "'; DROP TABLE x; --", "%s%n", "../..",
    "Ｐ610100", "\u202e", "\ufeff1",
]


def _int(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = [lo, hi, 0, 1, -1, lo + 1, hi - 1, 2**31 - 1, 2**31, 2**53 + 1, -(2**31)]
    return st.one_of(st.sampled_from([e for e in edges if lo <= e <= hi]),
                     st.integers(-1000, 1000).filter(lambda v: lo <= v <= hi),
                     st.integers(lo, hi))


def _text(pool: list[str]) -> st.SearchStrategy[str]:
    parts = [st.sampled_from(EDGE_TEXT), st.text(max_size=40)]
    if pool:
        parts.insert(0, st.sampled_from(pool))
    return st.one_of(*parts)


def _time(full_name: str) -> st.SearchStrategy | None:
    if full_name not in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        return None
    cls = GetMessageClass(_DESCRIPTORS[full_name])
    seconds = st.one_of(st.sampled_from([0, 1_764_547_200, -62_135_596_801, 253_402_300_800,
                                         315_576_000_001, -(2**63), 2**63 - 1]),
                        st.integers(-(2**63), 2**63 - 1))
    nanos = st.one_of(st.sampled_from([0, 999_999_999, 1_000_000_000, -1, 2**31 - 1, -(2**31)]),
                      st.integers(-(2**31), 2**31 - 1))
    return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, nanos)


def _scalar(field: FieldDescriptor, pool: list[str], depth: int) -> st.SearchStrategy:
    t = field.type
    if t in _INT_BOUNDS:
        return _int(*_INT_BOUNDS[t])
    if t == F.TYPE_BOOL:
        return st.booleans()
    if t in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
        return st.floats(width=32 if t == F.TYPE_FLOAT else 64)
    if t == F.TYPE_STRING:
        return _text(pool)
    if t == F.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.just(b"\xff\xd8\xff" + b"\x00" * 4096))
    if t == F.TYPE_ENUM:
        declared = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(declared), _int(-(2**31), 2**31 - 1))
    return requests(field.message_type, pool, depth + 1)


def _field(field: FieldDescriptor, pool: list[str], depth: int) -> st.SearchStrategy:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key = _scalar(field.message_type.fields_by_name["key"], pool, depth)
        value = _scalar(field.message_type.fields_by_name["value"], pool, depth)
        return st.dictionaries(key, value, max_size=3)
    item = _scalar(field, pool, depth)
    if field.is_repeated:
        return st.lists(item, max_size=4 if depth < 2 else 1)
    return item


_DESCRIPTORS: dict[str, Descriptor] = {}


def requests(descriptor: Descriptor, pool: list[str], depth: int = 0) -> st.SearchStrategy:
    """Messages of ``descriptor``'s type with any subset of fields set to edge values."""
    _DESCRIPTORS.setdefault(descriptor.full_name, descriptor)
    timed = _time(descriptor.full_name)
    if timed is not None:
        return timed
    cls = GetMessageClass(descriptor)
    if depth > 3:
        return st.just(cls())
    fields = {f.name: _field(f, pool, depth) for f in descriptor.fields}

    def build(values: dict) -> object:
        message = cls()
        for name, value in values.items():
            target = getattr(message, name)
            if isinstance(value, dict):
                for k, v in value.items():
                    if hasattr(target[k], "CopyFrom"):
                        target[k].CopyFrom(v)
                    else:
                        target[k] = v
            elif isinstance(value, list):
                target.extend(value)
            elif hasattr(target, "CopyFrom"):
                target.CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return st.fixed_dictionaries({}, optional=fields).map(build)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


BAD_UTF8 = (b"\xc3\x28", b"\xed\xa0\x80", b"\xff", b"abc\xe2\x82", b"\xf4\x90\x80\x80")


def malformed(descriptor: Descriptor) -> list[bytes]:
    """Bytes that are not a valid ``descriptor`` message."""
    out = [b"\xff\xff\xff\xff", b"\x08", b"\x08\x80", b"\x08" + b"\xff" * 11, b"\x0a\x05ab",
           b"\x07"]
    for field in descriptor.fields:
        if field.type == F.TYPE_STRING:
            tag = _varint(field.number << 3 | 2)
            out += [tag + _varint(len(bad)) + bad for bad in BAD_UTF8]
        if field.type == F.TYPE_MESSAGE:
            out.append(_varint(field.number << 3 | 2) + b"\x10\x08\x80")  # nested, truncated
    return out


_OUT_OF_RANGE = {
    "google.protobuf.Timestamp": [{"seconds": 253_402_300_800}, {"seconds": -62_135_596_801},
                                  {"nanos": -1}, {"nanos": 1_000_000_000}],
    "google.protobuf.Duration": [{"seconds": 315_576_000_001}, {"seconds": 1, "nanos": -1},
                                 {"nanos": 1_000_000_000}],
}
#: values a type can carry, at the edges of its range
_AT_THE_EDGE = {
    "google.protobuf.Timestamp": [{"seconds": 253_402_300_799, "nanos": 999_999_999},
                                  {"seconds": -62_135_596_800}, {"seconds": -1}],
    "google.protobuf.Duration": [{"seconds": 315_576_000_000}, {"seconds": -315_576_000_000}],
}
_INT_EDGES = {t: [lo, hi] for t, (lo, hi) in _INT_BOUNDS.items()}


def out_of_range(descriptor: Descriptor) -> list[tuple[str, object]]:
    """``(field path, message)`` for every enum, string, Timestamp and Duration field reachable
    from ``descriptor``: the message with only that field set, to a value its type cannot
    carry (an undeclared enum number, a string holding NUL, a time outside protobuf's range)."""
    return _one_field(descriptor, _OUT_OF_RANGE, enums=True)


def at_the_edge(descriptor: Descriptor) -> list[tuple[str, object]]:
    """The same for every integer, Timestamp and Duration field, set to a value its type
    can carry at the edge of its range (the largest int64, the year 9999, the year 1)."""
    return _one_field(descriptor, _AT_THE_EDGE, enums=False)


def _one_field(descriptor: Descriptor, times: dict, *, enums: bool,
               depth: int = 0) -> list[tuple[str, object]]:
    cls = GetMessageClass(descriptor)
    found: list[tuple[str, object]] = []
    if depth > 3:
        return found
    for field in descriptor.fields:
        entry = field.message_type is not None and field.message_type.GetOptions().map_entry
        target = field.message_type.fields_by_name["value"] if entry else field
        if target.type == F.TYPE_ENUM and enums:
            values: list[object] = [max(v.number for v in target.enum_type.values) + 1]
        elif target.type == F.TYPE_STRING and enums:
            values = ["a\x00b"]  # no medpay text holds NUL; PostgreSQL cannot store it
        elif target.type in _INT_EDGES and not enums:
            values = list(_INT_EDGES[target.type])
        elif target.type == F.TYPE_MESSAGE and target.message_type.full_name in times:
            kind = GetMessageClass(target.message_type)
            values = [kind(**v) for v in times[target.message_type.full_name]]
        elif target.type == F.TYPE_MESSAGE:
            for path, inner in _one_field(target.message_type, times, enums=enums, depth=depth + 1):
                found.append((f"{field.name}.{path}", _set(cls(), field, entry, inner)))
            continue
        else:
            continue
        found += [(field.name, _set(cls(), field, entry, v)) for v in values]
    return found


def _set(message, field: FieldDescriptor, entry: bool, value):
    target = getattr(message, field.name)
    if entry:
        if hasattr(value, "CopyFrom"):
            target["k"].CopyFrom(value)
        else:
            target["k"] = value
    elif field.is_repeated:
        if hasattr(value, "CopyFrom"):
            target.add().CopyFrom(value)
        else:
            target.append(value)
    elif hasattr(value, "CopyFrom"):
        target.CopyFrom(value)
    else:
        setattr(message, field.name, value)
    return message
