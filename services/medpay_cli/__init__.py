"""The ``medpay`` command line: run the stack, and act as a till, a HIS, an app or an operator."""
