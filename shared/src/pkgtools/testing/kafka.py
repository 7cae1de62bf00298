"""Test access to topics: the same reader and producer the operator CLI uses."""

from pkgtools.topic_io import (
    Record,
    TopicReader,
    create_plain_topics,
    produce,
    produce_keyed,
    unique_name,
)

__all__ = [
    "Record",
    "TopicReader",
    "create_plain_topics",
    "produce",
    "produce_keyed",
    "unique_name",
]
