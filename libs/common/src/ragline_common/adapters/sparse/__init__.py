"""Sparse encoder adapters (see :mod:`ragline_common.ports.sparse_encoder`)."""
