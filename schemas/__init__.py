"""Message contracts of the cell: envelope, kinds, labels, precedence, topics, codec.

Start at ``schemas.envelope`` (Envelope, Submission, seal), ``schemas.codec`` (encode,
decode, decode_submission_strict, headers, record_key) and ``schemas.topics`` (registry).
Evolution rules: ``schemas/EVOLUTION.md``.
"""
