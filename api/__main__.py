"""`python -m api` is the `refunds` command."""

from api.cli import main

main()
