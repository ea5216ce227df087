"""Usage metering: api_calls, ingest_events and egress_bytes per tenant.

``meters.UsageMeters`` buffers per UTC minute and feeds Prometheus; ``ledger.LedgerFlusher``
adds the buffer to the durable ``usage_ledger`` at least every second; ``service`` answers
totals for a period and records ingest events inside the ingest's own transaction.
"""
