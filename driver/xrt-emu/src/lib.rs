//! XRT emulation (work in progress).
