"""Placeholder: filled in by the work on mixed precision."""
