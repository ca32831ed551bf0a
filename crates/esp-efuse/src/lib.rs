//! eFuse tables, burn semantics and espefuse's virtual eFuse file.
