"""DynamoDB stream consumer: per-room comment counters (each event counted once) and latest-comments views."""
