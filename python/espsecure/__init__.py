"""`python -m espsecure`: espboot's espsecure personality (see espboot_shims)."""
