"""Constructs and helpers shared by every architecture."""
