"""The router: the cell's switch and guard (DOMAIN §2-6). See ``worker`` for the design."""
