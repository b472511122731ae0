"""The card service's pure domain: benefit adjudication and versioned benefit policies.

Nothing here imports a database or the transport; every amount is integer fen.
"""
