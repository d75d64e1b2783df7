//! Where session leases live: in this process (the default, nothing to set
//! up) or in Redis, shared by every replica behind one service name. Both
//! answer exactly like the in-memory [`LeaseTable`]; only Redis can fail.

pub mod redis;

pub use self::redis::{LeaseStoreError, LeaseTime, RedisLeaseStore};

use crate::domain::leases::{ActiveSession, EnforcementRefusal, LeaseOutcome, LeaseTable};

/// The lease store the service runs with.
#[derive(Debug, Clone)]
pub enum LeaseStore {
    /// Leases in this process's memory.
    Memory(LeaseTable),
    /// Leases in Redis, shared by replicas.
    Redis(RedisLeaseStore),
}

impl From<LeaseTable> for LeaseStore {
    fn from(table: LeaseTable) -> Self {
        Self::Memory(table)
    }
}

impl From<RedisLeaseStore> for LeaseStore {
    fn from(store: RedisLeaseStore) -> Self {
        Self::Redis(store)
    }
}

impl LeaseStore {
    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            Self::Redis(_) => "redis",
        }
    }

    /// Whether the store answers (always, for memory).
    pub async fn ping(&self) -> Result<(), LeaseStoreError> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Redis(store) => store.ping().await,
        }
    }

    pub async fn acquire(
        &self,
        session_id: &str,
        holder_id: &str,
        force: bool,
    ) -> Result<LeaseOutcome, LeaseStoreError> {
        match self {
            Self::Memory(table) => Ok(table.acquire(session_id, holder_id, force)),
            Self::Redis(store) => store.acquire(session_id, holder_id, force).await,
        }
    }

    pub async fn heartbeat(
        &self,
        session_id: &str,
        holder_id: &str,
    ) -> Result<LeaseOutcome, LeaseStoreError> {
        match self {
            Self::Memory(table) => Ok(table.heartbeat(session_id, holder_id)),
            Self::Redis(store) => store.heartbeat(session_id, holder_id).await,
        }
    }

    pub async fn release(
        &self,
        session_id: &str,
        holder_id: &str,
    ) -> Result<LeaseOutcome, LeaseStoreError> {
        match self {
            Self::Memory(table) => Ok(table.release(session_id, holder_id)),
            Self::Redis(store) => store.release(session_id, holder_id).await,
        }
    }

    pub async fn get(&self, session_id: &str) -> Result<LeaseOutcome, LeaseStoreError> {
        match self {
            Self::Memory(table) => Ok(table.get(session_id)),
            Self::Redis(store) => store.get(session_id).await,
        }
    }

    pub async fn acquire_active(
        &self,
        session_id: &str,
        holder_id: &str,
        force: bool,
    ) -> Result<LeaseOutcome, LeaseStoreError> {
        match self {
            Self::Memory(table) => Ok(table.acquire_active(session_id, holder_id, force)),
            Self::Redis(store) => store.acquire_active(session_id, holder_id, force).await,
        }
    }

    pub async fn enforce_active(
        &self,
        holder_id: Option<&str>,
    ) -> Result<Result<(), EnforcementRefusal>, LeaseStoreError> {
        match self {
            Self::Memory(table) => Ok(table.enforce_active(holder_id)),
            Self::Redis(store) => store.enforce_active(holder_id).await,
        }
    }

    pub async fn detach_active(&self, holder_id: Option<&str>) -> Result<(), LeaseStoreError> {
        match self {
            Self::Memory(table) => {
                table.detach_active(holder_id);
                Ok(())
            }
            Self::Redis(store) => store.detach_active(holder_id).await,
        }
    }

    pub async fn active(&self) -> Result<ActiveSession, LeaseStoreError> {
        match self {
            Self::Memory(table) => Ok(table.active()),
            Self::Redis(store) => store.active().await,
        }
    }

    pub async fn len(&self) -> Result<usize, LeaseStoreError> {
        match self {
            Self::Memory(table) => Ok(table.len()),
            Self::Redis(store) => store.len().await,
        }
    }

    pub async fn is_empty(&self) -> Result<bool, LeaseStoreError> {
        Ok(self.len().await? == 0)
    }
}
