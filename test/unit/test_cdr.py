"""JointState CDR encode/decode (robot_control.common.cdr) against rclpy's own serializer."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from robot_control.common.cdr import CdrError, JointStateDecoder, JointStateEncoder, decode_imu_orientation

pytestmark = pytest.mark.unit

serialization = pytest.importorskip("rclpy.serialization")
JointState = pytest.importorskip("sensor_msgs.msg").JointState

NAMES = [f"joint_{i}{'_x' * (i % 3)}" for i in range(43)]  # lengths vary: exercises padding


def _msg(names, q, qd=(), eff=(), frame_id="", sec=3, nanosec=999_000_001) -> JointState:
    m = JointState()
    m.header.stamp.sec, m.header.stamp.nanosec, m.header.frame_id = sec, nanosec, frame_id
    m.name, m.position, m.velocity, m.effort = list(names), list(q), list(qd), list(eff)
    return m


@pytest.mark.parametrize("frame_id", ["", "a", "pelvis_imu"])
@pytest.mark.parametrize("fields", [(True, True), (True, False), (False, True), (False, False)])
def test_rclpy_deserializes_what_the_encoder_writes(frame_id: str, fields: tuple[bool, bool]) -> None:
    rng = np.random.default_rng(1)
    q, qd, eff = rng.normal(size=(3, len(NAMES)))
    with_v, with_e = fields
    enc = JointStateEncoder(NAMES, frame_id)
    enc.encode(1, 2, q, qd, eff)  # another layout first: each keeps its own buffer
    data = enc.encode(3, 999_000_001, q, qd if with_v else None, eff if with_e else np.zeros(0))
    # rclpy's serializer is the oracle (its buffers carry uninitialised padding and, with empty
    # arrays, spare bytes at the end, so compare meaning, not bytes)
    back = serialization.deserialize_message(data, JointState)
    assert list(back.name) == NAMES and back.header.frame_id == frame_id
    assert (back.header.stamp.sec, back.header.stamp.nanosec) == (3, 999_000_001)
    np.testing.assert_array_equal(back.position, q)
    np.testing.assert_array_equal(back.velocity, qd if with_v else [])
    np.testing.assert_array_equal(back.effort, eff if with_e else [])


def test_encoder_rejects_wrong_lengths() -> None:
    enc = JointStateEncoder(NAMES)
    with pytest.raises(ValueError, match="velocity: 3 values for 43 joints"):
        enc.encode(0, 0, np.zeros(43), np.zeros(3), np.zeros(43))


@pytest.mark.parametrize("frame_id", ["", "base"])
@pytest.mark.parametrize("sizes", [(43, 43, 43), (43, 0, 0), (43, 0, 43), (0, 0, 0), (2, 2, 0)])
def test_decoder_reads_rclpy_serializations(frame_id: str, sizes: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(2)
    names = NAMES[:max(sizes)]
    q, qd, eff = (rng.normal(size=n) for n in sizes)
    dec = JointStateDecoder()
    for _ in range(2):  # the second decode takes the cached-names path
        d = dec.decode(serialization.serialize_message(_msg(names, q, qd, eff, frame_id, sec=-2, nanosec=5)))
        assert d.name == tuple(names) and d.frame_id == frame_id and (d.sec, d.nanosec) == (-2, 5)
        np.testing.assert_array_equal(d.position, q)
        np.testing.assert_array_equal(d.velocity, qd)
        np.testing.assert_array_equal(d.effort, eff)


def test_decoder_notices_changed_names() -> None:
    dec = JointStateDecoder()
    a = dec.decode(serialization.serialize_message(_msg(["a", "b"], [1.0, 2.0])))
    b = dec.decode(serialization.serialize_message(_msg(["b", "a"], [3.0, 4.0])))
    c = dec.decode(serialization.serialize_message(_msg(["b", "a", "c"], [3.0, 4.0, 5.0])))
    assert (a.name, b.name, c.name) == (("a", "b"), ("b", "a"), ("b", "a", "c"))


def test_decoder_reads_big_endian_and_xcdr2() -> None:
    """Hand-built: big-endian XCDR1 (doubles 8-aligned) and little-endian XCDR2 (4-aligned)."""
    be = b"\x00\x00\x00\x00" + struct.pack(">iII", 7, 8, 1) + b"\x00\x00\x00\x00" + struct.pack(">I", 1)
    be += struct.pack(">I", 2) + b"j\x00\x00\x00" + struct.pack(">I", 1) + struct.pack(">d", 1.5)
    be += struct.pack(">II", 0, 0)
    d = JointStateDecoder().decode(be)
    assert d.name == ("j",) and d.position.tolist() == [1.5] and d.stamp == pytest.approx(7.000000008)
    # XCDR2: header 12 bytes + frame_id "" (4 + 1 + 3 pad), 1 name "j" -> count at offset 16
    x2 = b"\x00\x07\x00\x00" + struct.pack("<iII", 1, 2, 1) + b"\x00\x00\x00\x00" + struct.pack("<I", 1)
    x2 += struct.pack("<I", 2) + b"j\x00\x00\x00" + struct.pack("<I", 1)  # count at payload 28
    x2 += struct.pack("<d", -2.0) + struct.pack("<II", 0, 0)  # doubles at 32: 4-aligned is enough
    assert JointStateDecoder().decode(x2).position.tolist() == [-2.0]


@pytest.mark.parametrize("data, match", [
    (b"\x00\x01\x00\x00", "too short"),
    (b"\x00\x0a\x00\x00" + bytes(40), "encapsulation"),
    (b"\x00\x01\x00\x00" + struct.pack("<iII", 0, 0, 1) + bytes(4) + struct.pack("<II", 0, 1000), "past the end"),
    (b"\x00\x01\x00\x00" + struct.pack("<iII", 0, 0, 1) + bytes(4) + struct.pack("<I", 5), "malformed|bad string"),
])
def test_decoder_rejects_garbage(data: bytes, match: str) -> None:
    with pytest.raises(CdrError, match=match):
        JointStateDecoder().decode(data)


@pytest.mark.parametrize("frame_id", ["", "imu", "pelvis_imu_site"])
def test_imu_orientation_from_rclpy_serializations(frame_id: str) -> None:
    from sensor_msgs.msg import Imu

    m = Imu()
    m.header.stamp.sec, m.header.stamp.nanosec, m.header.frame_id = 4, 5, frame_id
    m.orientation.x, m.orientation.y, m.orientation.z, m.orientation.w = 0.1, -0.2, 0.3, 0.927
    m.angular_velocity.x = 9.0
    assert decode_imu_orientation(serialization.serialize_message(m)) == (4, 5, (0.1, -0.2, 0.3, 0.927))
    with pytest.raises(CdrError, match="too short"):
        decode_imu_orientation(b"\x00\x01\x00\x00")
