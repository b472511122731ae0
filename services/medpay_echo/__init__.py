"""Echo: the smallest medpay service, built with the same bootstrap as the real ones.

It proves the kit end to end in tests (mTLS, authentication, error mapping, idempotency)
and is the framework's ceiling in ``make bench``.
"""
