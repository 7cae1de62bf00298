"""The contract of the packages billing service: message models, topic names and the ACL table.

Any client may import this package alone (pkgctl, another service, a test): it needs pydantic
and the standard library, and nothing of the service chassis (`pkgshared`) or its tooling
(`pkgtools`). A unit test (tests/unit/test_import_graph.py) keeps it so.
"""
