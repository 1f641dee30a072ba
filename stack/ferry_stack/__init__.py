"""Ferry's real test stack: a Kafka broker, a Kubernetes control plane, a node agent and helm.

Everything here runs real upstream software built or fetched through the package registries
(Maven Central, the Go module proxy) into a cache directory, and started on loopback ports.
Tests use it through pytest fixtures (``tests/conftest.py``); people use it through
``ferry-stack up|down|env``.
"""
