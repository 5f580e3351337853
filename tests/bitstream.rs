//! Tests being written for issue 6.
