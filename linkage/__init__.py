"""Record linkage of persons and families across Dukcapil, Regsosek, P3KE and DTKS.

DataFrame-in, DataFrame-out functions only: no storage, no session, no config loading.
"""
