"""Webhook delivery: the dispatcher that claims due deliveries, and how one is sent."""
