"""The service chassis: consuming, the unit of work and outbox, Kafka, PostgreSQL and runtime.

It builds on the contract (`pkgcontract`) and knows no service's rules; tooling and test
helpers live apart in `pkgtools`.
"""
