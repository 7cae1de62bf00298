"""The publisher's murmur2 (pkgshared.kafka) is the Java client's, as aiokafka computes it:
a record's partition is the one any other Kafka client picks for its key."""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from pkgshared.kafka import murmur2


@given(st.binary(max_size=600))
def test_murmur2_is_aiokafkas(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


def test_murmur2_of_known_keys() -> None:
    # Values of the Java client's Utils.murmur2 (kafka-clients' own test vectors).
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF
    assert murmur2(b"") == 275646681
