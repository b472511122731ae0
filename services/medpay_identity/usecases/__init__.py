"""Use cases of the identity service: each owns its transaction."""
