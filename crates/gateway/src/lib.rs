//! Sen's exchange gateway.
