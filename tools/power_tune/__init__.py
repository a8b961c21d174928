# The grid of `make tune` (bench/tune.py SIZES; a test keeps them equal), so both runs answer the same question.
# Here, not in stack.py: tools/power_tune reads it without loading the CDK.
POWER_VALUES = (128, 256, 512, 1024, 1536, 1769, 2048, 3008)
