"""DynamoDB stream consumer: per-room comment counters, each stream record applied exactly once."""
