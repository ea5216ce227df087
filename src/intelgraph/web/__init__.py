"""Files browsers load from the service itself (no CDN): vendored GraphiQL and React."""
