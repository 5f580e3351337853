//! Vivado project generation (being written).
