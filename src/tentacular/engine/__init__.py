"""The runtime: node loading, context, secrets, executor, HTTP server and triggers."""
