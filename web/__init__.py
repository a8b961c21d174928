"""The web service: ALB -> ECS on Fargate -> Aurora PostgreSQL Serverless v2."""
