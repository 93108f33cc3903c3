"""Storage: schema migrations, connection helpers, the batch writer (COPY) and read queries."""
