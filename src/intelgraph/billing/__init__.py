"""Billing: signed daily usage exports, adapters with a durable outbox, reconciliation."""
