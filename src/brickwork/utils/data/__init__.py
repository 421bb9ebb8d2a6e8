"""Data loading (placeholder)."""
