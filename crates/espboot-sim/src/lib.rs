//! The virtual device: NOR flash with power-cut injection.
