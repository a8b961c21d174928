"""Chat API: API Gateway (REST) -> Lambda (Powertools) -> DynamoDB, with a stream consumer."""
