"""Pure helpers a service's domain may import: no I/O, no third-party dependency.

eventkit is the eventing platform (Kafka, Postgres, HTTP) and the domain contracts forbid it;
this package holds what a domain needs and nothing that touches the outside world.
"""
