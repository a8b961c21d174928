"""A stage of the app: its typed, validated config and the builder of its stacks."""
