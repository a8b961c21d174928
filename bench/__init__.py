"""`make bench`: synth, test-suite, handler and edge timings, the capacity model and the cost model."""
