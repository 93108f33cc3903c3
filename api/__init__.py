"""The urban-data HTTP API: FastAPI app, one router per domain, webhooks, the board."""
