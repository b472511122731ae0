"""What every request must satisfy before any handler sees it, checked from its descriptor.

protobuf decodes some values it cannot represent afterwards: an enum number the contract
does not declare (proto3 enums are open), a ``google.protobuf.Timestamp`` or ``Duration``
outside the range its conversions accept, a string holding NUL (no medpay text has one,
and PostgreSQL cannot store it). :func:`check_request` walks a decoded request (nested,
repeated and map fields included) and refuses such a value with ``INVALID_ARGUMENT``
naming the field. Which fields can hold one is worked out once per
message type, so a request without such fields costs one dictionary look-up.

:func:`decoding` wraps a request deserializer so bytes that are not a message of the
RPC's request type (truncated, not UTF-8 where a string is expected) become
:data:`UNDECODABLE` instead of an exception inside grpc; the interceptor then refuses
the call with ``MALFORMED_REQUEST``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from medpay_kit.errors import DomainError

# the ranges google.protobuf's own conversions accept (timestamp.proto, duration.proto)
_TS_SECONDS = (-62_135_596_800, 253_402_300_799)  # 0001-01-01 .. 9999-12-31T23:59:59Z
_DUR_SECONDS = 315_576_000_000  # 10 000 years
_NANOS = 999_999_999

_ENUM, _MESSAGE, _TIMESTAMP, _DURATION, _STRING = range(5)
#: per message type: (field, kind) of each field that can hold a value to check
_plans: dict[str, tuple[tuple[FieldDescriptor, int], ...]] = {}
_PENDING: Any = ((None, _MESSAGE),)  # a type being planned (it may contain itself): check it


class _Undecodable:
    """The request of a call whose bytes did not decode."""

    __slots__ = ()


UNDECODABLE: Any = _Undecodable()


def decoding(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer`` that answers :data:`UNDECODABLE` instead of raising."""
    if deserializer is None:
        return None

    def decode(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except (DecodeError, UnicodeDecodeError, ValueError, RecursionError):
            return UNDECODABLE
    return decode


def _kind(field: FieldDescriptor) -> int | None:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _ENUM
    if field.type == FieldDescriptor.TYPE_STRING:
        return _STRING
    if field.type not in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
        return None
    name = field.message_type.full_name
    if name == "google.protobuf.Timestamp":
        return _TIMESTAMP
    if name == "google.protobuf.Duration":
        return _DURATION
    if field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        return _MESSAGE if _kind(key) is not None or _kind(value) is not None else None
    return _MESSAGE if _plan(field.message_type) else None


def _plan(descriptor: Descriptor) -> tuple[tuple[FieldDescriptor, int], ...]:
    plan = _plans.get(descriptor.full_name)
    if plan is None:
        _plans[descriptor.full_name] = _PENDING
        plan = tuple((f, k) for f in descriptor.fields if (k := _kind(f)) is not None)
        _plans[descriptor.full_name] = plan
    return plan


def _invalid(path: str) -> DomainError:
    return DomainError("INVALID_ARGUMENT", "a field holds a value outside its type's range",
                       field=path)


def _check_value(value: Any, field: FieldDescriptor, kind: int, path: str) -> None:
    if kind == _STRING:
        if "\x00" in value:
            raise _invalid(path)
    elif kind == _ENUM:
        if field.enum_type.values_by_number.get(value) is None:
            raise _invalid(path)
    elif kind == _TIMESTAMP:
        if not (_TS_SECONDS[0] <= value.seconds <= _TS_SECONDS[1] and 0 <= value.nanos <= _NANOS):
            raise _invalid(path)
    elif kind == _DURATION:
        s, n = value.seconds, value.nanos
        if abs(s) > _DUR_SECONDS or abs(n) > _NANOS or (s > 0 > n) or (s < 0 < n):
            raise _invalid(path)
    else:
        _check(value, path + ".")


def _check(message: Message, prefix: str = "") -> None:
    plan = _plan(message.DESCRIPTOR)
    if not plan:
        return
    for field, kind in plan:
        path = prefix + field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            value_kind = _kind(value_field)
            for key, value in getattr(message, field.name).items():
                if isinstance(key, str) and "\x00" in key:
                    raise _invalid(path)
                if value_kind is not None:
                    _check_value(value, value_field, value_kind, f"{path}[{key!s:.40}]")
        elif field.is_repeated:
            for i, value in enumerate(getattr(message, field.name)):
                _check_value(value, field, kind, f"{path}[{i}]")
        elif field.type != FieldDescriptor.TYPE_MESSAGE or message.HasField(field.name):
            _check_value(getattr(message, field.name), field, kind, path)


def check_request(request: Any) -> None:
    """Refuse a request that did not decode or holds a value its types cannot carry."""
    if request is UNDECODABLE:
        raise DomainError("MALFORMED_REQUEST", "the request is not a valid message of this RPC")
    if isinstance(request, Message):
        _check(request)
