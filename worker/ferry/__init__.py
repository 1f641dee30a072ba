"""Ferry: Kafka Connect rebuilt for Kubernetes."""
