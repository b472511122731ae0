"""The identity service's pure domain: face comparison and liveness rules.

Nothing here imports dlib, a database or the transport; the face engine that turns an
image into a :class:`~medpay_identity.domain.face.FaceObservation` is an adapter.
"""
