"""Helpers for tests that use real Kafka and PostgreSQL."""
