"""Proxy means test, desil ranking and program allocation.

DataFrame-in, DataFrame-out functions only: no storage, no session, no config loading.
"""
