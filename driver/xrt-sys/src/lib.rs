//! Raw XRT bindings (work in progress).
