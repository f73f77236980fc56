"""Alerts: explanation, messages, channels and delivery."""
