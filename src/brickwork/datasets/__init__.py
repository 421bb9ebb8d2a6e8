"""Data sets (placeholder)."""
