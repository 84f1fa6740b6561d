"""Message body kinds, one module per family. ``schemas.body`` assembles the union."""
