"""`python -m esptool`: espboot's esptool personality (see espboot_shims)."""
