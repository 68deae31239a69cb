"""Plain helpers that know nothing of funnels: units of time and money sizes, safe file writes, text encodings, the version.

Why a layer of its own: every other layer uses them, and they import nothing of simfunnel.
"""
