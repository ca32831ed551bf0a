"""`python -m imgtool`: espboot's imgtool personality (see espboot_shims)."""
