"""Release units (ktl K-R1…K-R12): one file bundled once, then planned, applied, verified, promoted.

Private to the deploy layer; the deploy face re-exports the operations from ``_ops``.
"""
