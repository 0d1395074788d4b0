"""The rules of the refunds service: money, refunds and their states, eligibility, use cases.

Nothing here imports a framework, a driver or an ORM; `db/` implements the ports in `ports.py`.
"""
