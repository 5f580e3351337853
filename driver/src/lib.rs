//! kiln's accelerator driver.
//!
//! The driver owns the sequence of register writes and buffer moves that
//! runs an accelerator; a [`Transport`] only moves words and bytes. The same
//! sequencing code ([`Accelerator`]) runs against the Verilated model
//! ([`transport::SimTransport`]), and later under XRT and over /dev/mem.
//! Register offsets and fields come from [`regs`], generated from
//! hw/regs/kiln.toml.

mod accel;
mod descriptor;
pub mod regs;
pub mod transport;
pub mod xclbin;

pub use accel::{
    Accelerator, Counters, DesignIdentity, DriverError, EngineState, ExpectedDesign, Identity, Job,
    RunArgs,
};
pub use descriptor::{
    check_dimensions, check_operands, fits, round8, DescriptorError, Operand, OperandCheck,
};
pub use transport::{check_register_offset, DeviceBuffer, Transport, TransportError};
