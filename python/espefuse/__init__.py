"""`python -m espefuse`: espboot's espefuse personality (see espboot_shims)."""
