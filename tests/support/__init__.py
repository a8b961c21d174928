"""Test helpers shared by the template and handler suites."""
