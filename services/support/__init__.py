"""The support-request service: requests, offers, consignments and depot draws (DOMAIN §7)."""
