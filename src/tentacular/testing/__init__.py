"""Fixture runner, mock context and contract drift detection."""
