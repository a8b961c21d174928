"""The README's AWS and diff targets, acting on exactly the stacks of one stage (see `__main__`)."""
