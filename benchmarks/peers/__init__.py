"""Peers `make bench` measures the service against, in the same run on the same offers."""
