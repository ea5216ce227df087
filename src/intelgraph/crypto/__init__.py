"""Keys, signatures (DSSE envelopes) and field encryption."""
