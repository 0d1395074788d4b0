"""Webhook endpoints and deliveries, as merchants manage them over GraphQL."""
