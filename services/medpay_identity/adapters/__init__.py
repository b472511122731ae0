"""Adapters of the identity service: the dlib face engine (and later repositories)."""
