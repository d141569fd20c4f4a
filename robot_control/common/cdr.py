"""sensor_msgs/JointState <-> its serialized (CDR) form, in numpy, for the 1 kHz paths.

What a raw subscription delivers and `Publisher.publish(bytes)` sends is the message in OMG CDR
(the encoding every ROS 2 middleware puts on the wire): a 4-byte encapsulation header, then the
fields in order; numbers little- or big-endian as the header says, each aligned to its size
(XCDR1; XCDR2 caps alignment at 4) counted from the end of the header; strings as a uint32
length (with the NUL) + bytes; sequences as a uint32 count + elements.

rclpy's own conversion of a JointState builds Python objects element by element: measured on
the G1's 43 joints, `deserialize_message` ~25 us and a take in the 1 kHz loop ~77 us, a
publish ~35 us plus ~20 us to fill the arrays. Here a decode is a few `np.frombuffer` views
and the names are compared as one byte string with the previous message's (they rarely
change), and an encoder keeps the serialized message and writes only the stamp and arrays.

Anything this module does not recognise (another encapsulation, a truncated buffer) raises
`CdrError`; callers fall back to rclpy's deserializer, so an odd middleware costs speed, not
correctness.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

# Encapsulation identifiers (first two bytes, big-endian): 0/1 = CDR (XCDR1) BE/LE,
# 6/7 = plain CDR2 (XCDR2) BE/LE.
_ENCAPSULATIONS = {0x0000: (">", 8), 0x0001: ("<", 8), 0x0006: (">", 4), 0x0007: ("<", 4)}
# per encapsulation: (header struct, uint32 struct, float64 dtype, max alignment)
_CODECS = {kind: (struct.Struct(e + "iII"), struct.Struct(e + "I"), np.dtype(e + "f8"), a)
           for kind, (e, a) in _ENCAPSULATIONS.items()}
_EMPTY = np.zeros(0)
_EMPTY.flags.writeable = False
_HEADER = 4


class CdrError(ValueError):
    """The bytes are not a JointState serialization this module reads."""


class JointStateData(NamedTuple):
    sec: int
    nanosec: int
    frame_id: str
    name: tuple[str, ...]
    position: np.ndarray  # float64 views into the message bytes (read-only)
    velocity: np.ndarray
    effort: np.ndarray

    @property
    def stamp(self) -> float:
        return self.sec + self.nanosec * 1e-9


def _align(offset: int, size: int) -> int:
    """Offset rounded up to `size`, counted from the end of the encapsulation header."""
    rel = offset - _HEADER
    return _HEADER + ((rel + size - 1) // size) * size


def _open(data: bytes, minimum: int, what: str) -> tuple[int, int, int, int]:
    """Length and encapsulation checks; (encapsulation, stamp sec, nanosec, frame_id length)
    from the std_msgs/Header every stamped message starts with."""
    if len(data) < minimum:
        raise CdrError(f"{len(data)} bytes: too short for {what}")
    kind = (data[0] << 8) | data[1]
    if kind not in _CODECS:
        raise CdrError(f"unknown CDR encapsulation 0x{kind:04x}")
    sec, nanosec, frame_len = _CODECS[kind][0].unpack_from(data, _HEADER)
    return kind, sec, nanosec, frame_len


class JointStateDecoder:
    """Decodes serialized JointState messages; remembers the last name list's bytes."""

    def __init__(self) -> None:
        self._names_bytes = b""
        self._names: tuple[str, ...] = ()

    def decode(self, data: bytes) -> JointStateData:
        buf = data if isinstance(data, bytes) else bytes(data)
        kind, sec, nanosec, frame_len = _open(buf, _HEADER + 16, "a JointState")
        _, u32, dtype, max_align = _CODECS[kind]
        try:
            off = _HEADER + 12
            frame_id = buf[off:off + frame_len - 1].decode() if frame_len > 1 else ""
            off = _align(off + frame_len, 4)
            names_start = off
            cached = self._names_bytes
            if cached and buf.startswith(cached, names_start):
                names = self._names
                off = names_start + len(cached)
            else:
                (count,) = u32.unpack_from(buf, off)
                off += 4
                decoded = []
                for _ in range(count):
                    off = _align(off, 4)
                    (length,) = u32.unpack_from(buf, off)
                    off += 4
                    if length == 0 or off + length > len(buf):
                        raise CdrError("bad string in name")
                    decoded.append(buf[off:off + length - 1].decode())
                    off += length
                names = tuple(decoded)
                self._names_bytes, self._names = buf[names_start:off], names
            arrays = []
            for _ in range(3):
                off = _align(off, 4)
                (count,) = u32.unpack_from(buf, off)
                off += 4
                if count:
                    off = _align(off, min(8, max_align))
                    if off + 8 * count > len(buf):
                        raise CdrError("array runs past the end of the message")
                    arrays.append(np.frombuffer(buf, dtype=dtype, count=count, offset=off))
                    off += 8 * count
                else:
                    arrays.append(_EMPTY)
        except (struct.error, UnicodeDecodeError) as exc:
            raise CdrError(f"malformed JointState: {exc}") from exc
        return JointStateData(sec, nanosec, frame_id, names, *arrays)


class JointStateEncoder:
    """Serializes JointState messages with a fixed name list (XCDR1 little-endian, as rmw does).

    `encode` writes the stamp and the arrays into a prepared buffer and returns bytes to hand
    to `Publisher.publish`. Velocity and effort are each len(names) long, or None / empty (an
    empty field); one buffer is prepared per combination used."""

    def __init__(self, names: Sequence[str], frame_id: str = "") -> None:
        self.names = tuple(names)
        prefix = bytearray(b"\x00\x01\x00\x00")  # CDR little-endian, options 0
        prefix += struct.pack("<iI", 0, 0)

        def put_string(text: str) -> None:
            raw = text.encode() + b"\x00"
            _pad(prefix, 4)
            prefix.extend(struct.pack("<I", len(raw)) + raw)

        put_string(frame_id)
        _pad(prefix, 4)
        prefix += struct.pack("<I", len(self.names))
        for name in self.names:
            put_string(name)
        self._prefix = bytes(prefix)
        # (has velocity, has effort) -> (buffer, [views of position, velocity, effort or None])
        self._layouts: dict[tuple[bool, bool], tuple[bytearray, list[memoryview | None]]] = {}

    def _layout(self, key: tuple[bool, bool]) -> tuple[bytearray, list[memoryview | None]]:
        buf = bytearray(self._prefix)
        slices: list[slice | None] = []
        for present in (True, *key):
            count = len(self.names) if present else 0
            _pad(buf, 4)
            buf += struct.pack("<I", count)
            if count:
                _pad(buf, 8)
                slices.append(slice(len(buf), len(buf) + 8 * count))
                buf.extend(bytes(8 * count))
            else:
                slices.append(None)
        layout = buf, [None if s is None else memoryview(buf)[s] for s in slices]
        self._layouts[key] = layout
        return layout

    def encode(self, sec: int, nanosec: int, position: np.ndarray, velocity: np.ndarray | None = None,
               effort: np.ndarray | None = None) -> bytes:
        key = (velocity is not None and len(velocity) > 0, effort is not None and len(effort) > 0)
        buf, views = self._layouts.get(key) or self._layout(key)
        struct.pack_into("<iI", buf, _HEADER, sec, nanosec)
        for view, values, label in zip(views, (position, velocity, effort),
                                       ("position", "velocity", "effort"), strict=True):
            if view is None:
                continue
            arr = np.ascontiguousarray(values, dtype="<f8")
            if arr.nbytes != view.nbytes:
                raise ValueError(f"{label}: {arr.size} values for {len(self.names)} joints")
            view[:] = arr.view(np.uint8)
        return bytes(buf)


def _pad(buf: bytearray, size: int) -> None:
    buf.extend(bytes(_align(len(buf), size) - len(buf)))


_IMU_ORIENTATION = {"<": struct.Struct("<4d"), ">": struct.Struct(">4d")}


def decode_imu_orientation(data: bytes) -> tuple[int, int, tuple[float, float, float, float]]:
    """(stamp sec, nanosec, orientation x, y, z, w) of a serialized sensor_msgs/Imu: the fields
    the cerebellum's tilt guard reads, without building the message. Raises CdrError."""
    kind, sec, nanosec, frame_len = _open(data, _HEADER + 12, "an Imu")
    off = _align(_HEADER + 12 + frame_len, min(8, _CODECS[kind][3]))
    if off + 32 > len(data):
        raise CdrError("Imu orientation runs past the end of the message")
    x, y, z, w = _IMU_ORIENTATION[_ENCAPSULATIONS[kind][0]].unpack_from(data, off)
    return sec, nanosec, (x, y, z, w)
