"""Chat comments API: handler (Powertools) -> domain (CommentService) -> repository (DynamoDB)."""
