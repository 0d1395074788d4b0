"""The edge: Starlette app, strawberry schema, auth, dataloaders, subscriptions and the CLI."""
