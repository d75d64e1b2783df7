//! The application: the operations the RPCs offer, with the validation order
//! and exact messages of the specification, in plain Rust that knows nothing
//! about gRPC. The wire layer (`api`) only translates.

mod error;
mod locks;

pub use error::{ErrorCode, WalkerError};
pub use locks::LockStatusView;

use crate::domain::leases::LeaseTable;

/// Everything the service holds: the lease table (and, later, the patches).
#[derive(Debug, Clone)]
pub struct App {
    leases: LeaseTable,
}

impl App {
    pub fn new(leases: LeaseTable) -> Self {
        Self { leases }
    }

    pub fn leases(&self) -> &LeaseTable {
        &self.leases
    }
}
