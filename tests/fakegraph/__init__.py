"""A fake Microsoft Graph for tests: a tenant builder, an HTTP server, and the DESIGN §3 contract check."""
