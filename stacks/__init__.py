"""CDK constructs and stacks of the reference app, one package per architecture."""
