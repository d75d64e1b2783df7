//! Where session leases live when the service runs as several replicas: a
//! shared store that answers exactly like the in-memory
//! [`LeaseTable`](crate::domain::leases::LeaseTable).

pub mod redis;

pub use self::redis::{LeaseStoreError, LeaseTime, RedisLeaseStore};
