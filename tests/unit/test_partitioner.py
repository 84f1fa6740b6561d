"""The cached partitioner places keyed records exactly where Kafka's default partitioner does."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.partitioner import cached_partitioner


@given(key=st.binary(max_size=64), count=st.integers(min_value=1, max_value=64))
def test_same_partition_as_the_default_partitioner(key: bytes, count: int) -> None:
    partitions = list(range(count))
    expected = DefaultPartitioner()(key, partitions, partitions)
    assert cached_partitioner(key, partitions, partitions) == expected
    assert cached_partitioner(key, partitions, partitions) == expected  # from the cache


def test_unkeyed_records_prefer_available_partitions() -> None:
    placed = {cached_partitioner(None, [0, 1, 2, 3], [2]) for _ in range(50)}
    assert placed == {2}
    assert {cached_partitioner(None, [0, 1], []) for _ in range(200)} == {0, 1}
