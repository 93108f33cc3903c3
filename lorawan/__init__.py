"""Pure LoRaWAN domain: envelopes, the canonical uplink, codecs and the quantity vocabulary.

Nothing in this package performs I/O; every other loracity package builds on it.
"""
