"""medpay identity service: persons, enrolled face references, face-auth sessions, assertions."""
