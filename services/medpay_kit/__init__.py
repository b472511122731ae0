"""The shared runtime kit of medpay: one place for each cross-cutting concern."""
