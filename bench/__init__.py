"""Ferry's benchmark harness: Ferry, Apache Kafka Connect and raw confluent-kafka loops, side by
side against one local Kafka broker (``python -m bench``; see docs/benchmarks.md)."""
