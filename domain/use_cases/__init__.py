"""Use cases: async functions that take a unit of work and a command, and return a result or
raise a DomainError (in which case nothing was committed)."""
