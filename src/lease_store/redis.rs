//! Session leases kept in Redis, so that several replicas of the service share
//! one lease table (SEMANTICS §4) and answer exactly like the in-memory
//! [`LeaseTable`](crate::domain::leases::LeaseTable).
//!
//! # Atomicity
//!
//! Every operation is one Lua script run with EVALSHA (loaded on first use),
//! so Redis executes it as a single step: no other client's command runs
//! between its read and its write. Nothing is read from Rust and then written
//! back. Id validation (blank ids, id length) needs no shared state and happens
//! in Rust before any Redis call, with the same order and reasons as the table.
//!
//! # Data model (every key starts with the configured prefix, e.g. `walker:`)
//!
//! - `{prefix}lease:<session_id>`: a hash `{holder, acquired_ms, refreshed_ms,
//!   expires_ms, token}` per lease. It gets `PEXPIRE ttl + slack` on every
//!   write so Redis frees it by itself even if no replica ever touches it
//!   again; the slack keeps Redis's own expiry *after* the logical one, so
//!   the logical check `expires_ms <= now` (done by every script) decides,
//!   exactly as in the table, also with an injected clock.
//! - `{prefix}expiry`: a sorted set `session_id -> expires_ms` of every
//!   lease. It counts live leases for `max_leases` (`ZCOUNT (now +inf`, O(log n)) and
//!   lets each script garbage-collect a bounded batch of expired leases.
//!   Counting by score rather than by cardinality means expired members that
//!   are not collected yet never count, so the limit is exact without a full
//!   prune. The set's own TTL is pushed to at least `ttl + slack` on every
//!   write, so it vanishes together with the last lease.
//! - `{prefix}fencing`: the counter (`INCR`) that fencing tokens come from.
//!   It never expires. When it is missing (a fresh Redis, or one restarted without
//!   persistence) it is seeded with Redis's clock in microseconds, so tokens
//!   handed out after a restart are still larger than those before it (as long
//!   as fewer than one grant per microsecond happened on average), and stay
//!   below 2^53, so clients that read JSON numbers as doubles see them exactly.
//! - `{prefix}active`: a hash `{session_id, holder_id}`: the active session. It
//!   never expires, like the table's active session.
//!
//! # SEMANTICS §4, rule by rule
//!
//! - *Prune expired entries first*: each script treats a lease with
//!   `expires_ms <= now` as absent and deletes it when it reads it, and
//!   collects up to [`COLLECT_BATCH`] expired leases from `{prefix}expiry`.
//! - *Pruning the active session's entry clears the active holder (not the
//!   id)*: each script starts by checking that the active session's lease is
//!   still there and unexpired; if not (pruned, or already freed by Redis's own
//!   expiry) it clears `holder_id` and keeps `session_id`.
//! - *acquire / heartbeat / release / get*: the same branches as the table,
//!   inside one script; `max_leases` refuses only the creation of a new lease.
//! - *Fencing token*: every new grant (fresh acquire, acquire after expiry,
//!   takeover) takes `INCR {prefix}fencing`; a refresh keeps the lease's token.
//! - *Enforcement*: reading the active session, the holder checks, the
//!   non-forced acquire and making the caller the active holder are one script.
//! - *Time*: with [`LeaseTime::Redis`] the scripts read `TIME`, so every replica
//!   shares Redis's time base; with [`LeaseTime::Clock`] the caller's clock is
//!   passed in (tests move a `ManualClock` instead of sleeping).
//!
//! # Limits of the model
//!
//! If Redis evicts or someone deletes a lease key (use a `noeviction`
//! policy), the lease is gone at once, but its `{prefix}expiry` member counts
//! toward `max_leases` until a script touches that session or its score
//! passes. The scripts build lease keys from the prefix, which Redis allows on
//! a single server; on a cluster, a hash-tagged prefix such as `{walker}:`
//! puts every key in one slot.
//!
//! # Failure
//!
//! Every call is bounded by the store's operation timeout, so an unreachable
//! Redis turns into [`LeaseStoreError`] in time instead of a hanging request.
//! A call that timed out may still have run on the server. The connection
//! manager reconnects in the background once Redis answers again.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, Script, Value};

use crate::clock::{Clock, Millis, format_utc_seconds};
use crate::domain::leases::{
    ActiveSession, EnforcementRefusal, LeaseLimits, LeaseOutcome, LeaseStatus, LockInfo,
    REASON_ACQUIRED, REASON_HELD_BY_OTHER, REASON_LOCK_PRESENT, REASON_NO_LOCK, REASON_NOT_FOUND,
    REASON_REFRESHED, REASON_RELEASED, REASON_SESSION_INVALID, REASON_TAKEN_OVER,
};

/// How far Redis's own key expiry trails the logical expiry. It only has to
/// cover clock skew between a replica's injected clock and Redis's: with
/// [`LeaseTime::Redis`] both use one clock and the logical check always
/// fires first.
pub const EXPIRY_SLACK: Duration = Duration::from_millis(1000);

/// Most expired leases one script deletes, so no single call stalls Redis
/// after a mass expiry; the rest go with later calls (or Redis's own expiry).
pub const COLLECT_BATCH: usize = 100;

/// Where "now" comes from.
#[derive(Debug, Clone)]
pub enum LeaseTime {
    /// Redis's `TIME`, read inside each script: all replicas share one time
    /// base, whatever their own clocks say.
    Redis,
    /// The given clock, read in Rust and passed to each script.
    Clock(Arc<dyn Clock>),
}

/// Why the lease store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LeaseStoreError {
    #[error("lease store URL is invalid: {0}")]
    InvalidUrl(#[source] RedisError),
    #[error("lease store unavailable: {0}")]
    Unavailable(#[from] RedisError),
    #[error("lease store unavailable: no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("lease store answered unexpectedly: {0}")]
    Malformed(String),
}

/// The key names of one prefix.
#[derive(Debug, Clone)]
struct Keys {
    expiry: String,
    fencing: String,
    active: String,
    lease_prefix: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self {
            expiry: format!("{prefix}expiry"),
            fencing: format!("{prefix}fencing"),
            active: format!("{prefix}active"),
            lease_prefix: format!("{prefix}lease:"),
        }
    }
}

/// The lease table in Redis. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct RedisLeaseStore {
    conn: ConnectionManager,
    keys: Arc<Keys>,
    ttl_ms: Millis,
    limits: LeaseLimits,
    time: LeaseTime,
    op_timeout: Duration,
}

impl fmt::Debug for RedisLeaseStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLeaseStore")
            .field("keys", &self.keys)
            .field("ttl_ms", &self.ttl_ms)
            .field("limits", &self.limits)
            .field("time", &self.time)
            .field("op_timeout", &self.op_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisLeaseStore {
    /// Connects and checks that Redis answers, within `op_timeout`: a
    /// misconfigured or unreachable Redis is reported at startup.
    pub async fn connect(
        url: &str,
        prefix: &str,
        ttl_secs: u64,
        limits: LeaseLimits,
        time: LeaseTime,
        op_timeout: Duration,
    ) -> Result<Self, LeaseStoreError> {
        let client = Client::open(url).map_err(LeaseStoreError::InvalidUrl)?;
        // Each connection attempt and each answer is bounded by the same
        // deadline, so the manager itself never waits longer than a call may;
        // the capped backoff lets it notice a returning Redis within a second.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(op_timeout))
            .set_response_timeout(Some(op_timeout))
            .set_max_delay(Duration::from_secs(1));
        let conn = bounded(
            op_timeout,
            ConnectionManager::new_with_config(client, config),
        )
        .await?;
        let store = Self {
            conn,
            keys: Arc::new(Keys::new(prefix)),
            ttl_ms: ttl_secs.saturating_mul(1000),
            limits,
            time,
            op_timeout,
        };
        store.ping().await?;
        Ok(store)
    }

    /// Checks that Redis answers, for health reporting.
    pub async fn ping(&self) -> Result<(), LeaseStoreError> {
        let mut conn = self.conn.clone();
        let answer: String =
            bounded(self.op_timeout, ::redis::cmd("PING").query_async(&mut conn)).await?;
        if answer == "PONG" {
            Ok(())
        } else {
            Err(LeaseStoreError::Malformed(format!(
                "PING answered {answer:?}"
            )))
        }
    }

    fn limit_reason(&self) -> String {
        format!("too many session locks (limit {})", self.limits.max_leases)
    }

    /// Runs one script with the common keys and arguments, then `args`.
    async fn run(&self, script: &Script, args: &[&str]) -> Result<Value, LeaseStoreError> {
        let now = match &self.time {
            LeaseTime::Redis => String::new(),
            LeaseTime::Clock(clock) => clock.now_ms().to_string(),
        };
        let mut invocation = script.prepare_invoke();
        invocation
            .key(&self.keys.expiry)
            .key(&self.keys.fencing)
            .key(&self.keys.active)
            .arg(now)
            .arg(&self.keys.lease_prefix)
            .arg(self.ttl_ms)
            .arg(u64::try_from(EXPIRY_SLACK.as_millis()).unwrap_or(u64::MAX))
            .arg(self.limits.max_leases)
            .arg(COLLECT_BATCH);
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.conn.clone();
        bounded(self.op_timeout, invocation.invoke_async(&mut conn)).await
    }

    /// Acquires, refreshes or (with `force`) takes over a lease.
    pub async fn acquire(
        &self,
        session_id: &str,
        holder_id: &str,
        force: bool,
    ) -> Result<LeaseOutcome, LeaseStoreError> {
        self.acquire_with(session_id, holder_id, force, false).await
    }

    /// A heartbeat is an acquire without force: on a free session it acquires.
    pub async fn heartbeat(
        &self,
        session_id: &str,
        holder_id: &str,
    ) -> Result<LeaseOutcome, LeaseStoreError> {
        self.acquire(session_id, holder_id, false).await
    }

    /// Acquires (or takes over) a lease and, on success, makes that session
    /// the active one with this holder, in one step.
    pub async fn acquire_active(
        &self,
        session_id: &str,
        holder_id: &str,
        force: bool,
    ) -> Result<LeaseOutcome, LeaseStoreError> {
        self.acquire_with(session_id, holder_id, force, true).await
    }

    async fn acquire_with(
        &self,
        session_id: &str,
        holder_id: &str,
        force: bool,
        make_active: bool,
    ) -> Result<LeaseOutcome, LeaseStoreError> {
        let (session_id, holder_id) = match self.limits.check_ids(session_id, holder_id) {
            Ok(ids) => ids,
            Err(refusal) => return Ok(*refusal),
        };
        let reply = self
            .run(
                &SCRIPTS.acquire,
                &[session_id, holder_id, flag(force), flag(make_active)],
            )
            .await?;
        let mut reply = Reply::new(reply)?;
        let code = reply.code()?;
        let (status, reason) = match code.as_str() {
            "acquired" => (LeaseStatus::Acquired, REASON_ACQUIRED.to_owned()),
            "held" => (LeaseStatus::Held, REASON_REFRESHED.to_owned()),
            "taken_over" => (LeaseStatus::TakenOver, REASON_TAKEN_OVER.to_owned()),
            "locked" => (LeaseStatus::Locked, REASON_HELD_BY_OTHER.to_owned()),
            "limit" => (LeaseStatus::LimitExceeded, self.limit_reason()),
            other => return Err(unexpected_code(other)),
        };
        let lock = reply.lock()?;
        let previous = reply.lock()?;
        Ok(LeaseOutcome {
            status,
            reason,
            lock,
            previous,
        })
    }

    /// Releases the caller's lease.
    pub async fn release(
        &self,
        session_id: &str,
        holder_id: &str,
    ) -> Result<LeaseOutcome, LeaseStoreError> {
        let (session_id, holder_id) = match self.limits.check_ids(session_id, holder_id) {
            Ok(ids) => ids,
            Err(refusal) => return Ok(*refusal),
        };
        let reply = self.run(&SCRIPTS.release, &[session_id, holder_id]).await?;
        let mut reply = Reply::new(reply)?;
        let (status, reason) = match reply.code()?.as_str() {
            "released" => (LeaseStatus::Released, REASON_RELEASED),
            "missing" => (LeaseStatus::Missing, REASON_NOT_FOUND),
            "locked" => (LeaseStatus::Locked, REASON_HELD_BY_OTHER),
            other => return Err(unexpected_code(other)),
        };
        Ok(outcome(status, reason, reply.lock()?))
    }

    /// Reads a lease without changing it.
    pub async fn get(&self, session_id: &str) -> Result<LeaseOutcome, LeaseStoreError> {
        let session_id = session_id.trim();
        if session_id.is_empty() {
            return Ok(outcome(LeaseStatus::Error, REASON_SESSION_INVALID, None));
        }
        let reply = self.run(&SCRIPTS.get, &[session_id]).await?;
        let mut reply = Reply::new(reply)?;
        let (status, reason) = match reply.code()?.as_str() {
            "locked" => (LeaseStatus::Locked, REASON_LOCK_PRESENT),
            "unlocked" => (LeaseStatus::Unlocked, REASON_NO_LOCK),
            other => return Err(unexpected_code(other)),
        };
        Ok(outcome(status, reason, reply.lock()?))
    }

    /// The active-session check of every mutating request (SEMANTICS §4).
    ///
    /// The outer `Result` is the store's health, the inner one the verdict,
    /// so a caller cannot mistake an unreachable Redis for a refusal or an
    /// allowance. `holder_id` is the request's raw `lock_holder_id`.
    pub async fn enforce_active(
        &self,
        holder_id: Option<&str>,
    ) -> Result<Result<(), EnforcementRefusal>, LeaseStoreError> {
        let (kind, holder) = match holder_id.map(str::trim) {
            None => ("absent", ""),
            Some("") => ("blank", ""),
            Some(holder) => ("given", holder),
        };
        let max_id = self.limits.max_id_bytes.to_string();
        let reply = self
            .run(&SCRIPTS.enforce, &[kind, holder, max_id.as_str()])
            .await?;
        let mut reply = Reply::new(reply)?;
        let code = reply.code()?;
        if code == "allowed" {
            return Ok(Ok(()));
        }
        let active_session_id = reply.string()?;
        let max = self.limits.max_id_bytes;
        let refusal = match code.as_str() {
            "missing_holder" => EnforcementRefusal::MissingHolder { active_session_id },
            "blank_holder" => EnforcementRefusal::BlankHolder { active_session_id },
            "session_too_long" => EnforcementRefusal::ValidationFailed {
                active_session_id,
                reason: format!("session_id exceeds the limit of {max} bytes"),
            },
            "holder_too_long" => EnforcementRefusal::ValidationFailed {
                active_session_id,
                reason: format!("lock_holder_id exceeds the limit of {max} bytes"),
            },
            "locked" => EnforcementRefusal::HeldByOther {
                active_session_id,
                lock: reply.lock()?.map(Box::new),
            },
            "limit" => EnforcementRefusal::ValidationFailed {
                active_session_id,
                reason: self.limit_reason(),
            },
            other => return Err(unexpected_code(other)),
        };
        Ok(Err(refusal))
    }

    /// Detaches the active session before a load replaces what it was
    /// working on: the caller's lease on it is released if the caller is the
    /// active holder, then the active session id and holder are cleared.
    pub async fn detach_active(&self, holder_id: Option<&str>) -> Result<(), LeaseStoreError> {
        let (present, holder) = match holder_id.map(str::trim) {
            Some(holder) => ("1", holder),
            None => ("0", ""),
        };
        let reply = self.run(&SCRIPTS.detach, &[present, holder]).await?;
        match Reply::new(reply)?.code()?.as_str() {
            "ok" => Ok(()),
            other => Err(unexpected_code(other)),
        }
    }

    /// The active session after pruning expired leases.
    pub async fn active(&self) -> Result<ActiveSession, LeaseStoreError> {
        let reply = self.run(&SCRIPTS.active, &[]).await?;
        let mut reply = Reply::new(reply)?;
        Ok(ActiveSession {
            session_id: reply.optional_string()?,
            holder_id: reply.optional_string()?,
        })
    }

    /// Number of unexpired leases.
    pub async fn len(&self) -> Result<usize, LeaseStoreError> {
        match self.run(&SCRIPTS.len, &[]).await? {
            Value::Int(n) => usize::try_from(n)
                .map_err(|_| LeaseStoreError::Malformed(format!("lease count {n}"))),
            other => Err(LeaseStoreError::Malformed(format!("lease count {other:?}"))),
        }
    }

    pub async fn is_empty(&self) -> Result<bool, LeaseStoreError> {
        Ok(self.len().await? == 0)
    }
}

/// Awaits a Redis future for at most `limit`.
async fn bounded<T>(
    limit: Duration,
    future: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, LeaseStoreError> {
    match tokio::time::timeout(limit, future).await {
        Ok(answer) => Ok(answer?),
        Err(_) => Err(LeaseStoreError::Timeout(limit)),
    }
}

fn flag(on: bool) -> &'static str {
    if on { "1" } else { "0" }
}

fn outcome(status: LeaseStatus, reason: &str, lock: Option<LockInfo>) -> LeaseOutcome {
    LeaseOutcome {
        status,
        reason: reason.to_owned(),
        lock,
        previous: None,
    }
}

fn unexpected_code(code: &str) -> LeaseStoreError {
    LeaseStoreError::Malformed(format!("unknown answer {code:?}"))
}

/// A script's array answer, read front to back.
struct Reply(std::vec::IntoIter<Value>);

impl Reply {
    fn new(value: Value) -> Result<Self, LeaseStoreError> {
        match value {
            Value::Array(items) => Ok(Self(items.into_iter())),
            other => Err(LeaseStoreError::Malformed(format!(
                "expected an array, got {other:?}"
            ))),
        }
    }

    fn code(&mut self) -> Result<String, LeaseStoreError> {
        self.string()
    }

    fn string(&mut self) -> Result<String, LeaseStoreError> {
        self.optional_string()?
            .ok_or_else(|| LeaseStoreError::Malformed("missing field".to_owned()))
    }

    /// A string, or `None` for a nil or a missing trailing field.
    fn optional_string(&mut self) -> Result<Option<String>, LeaseStoreError> {
        match self.0.next() {
            None | Some(Value::Nil) => Ok(None),
            Some(value) => text(value).map(Some),
        }
    }

    /// A lease `[session_id, holder, acquired_ms, refreshed_ms, expires_ms,
    /// token]`, or `None` for an empty array or a missing trailing field.
    fn lock(&mut self) -> Result<Option<LockInfo>, LeaseStoreError> {
        let fields = match self.0.next() {
            None | Some(Value::Nil) => return Ok(None),
            Some(Value::Array(fields)) if fields.is_empty() => return Ok(None),
            Some(Value::Array(fields)) => fields,
            Some(other) => {
                return Err(LeaseStoreError::Malformed(format!(
                    "expected a lease, got {other:?}"
                )));
            }
        };
        let [session_id, holder_id, acquired, refreshed, expires, token] =
            <[Value; 6]>::try_from(fields).map_err(|fields| {
                LeaseStoreError::Malformed(format!("a lease of {} fields", fields.len()))
            })?;
        Ok(Some(LockInfo {
            session_id: text(session_id)?,
            holder_id: text(holder_id)?,
            acquired_at_utc: format_utc_seconds(number(acquired)?),
            refreshed_at_utc: format_utc_seconds(number(refreshed)?),
            expires_at_utc: format_utc_seconds(number(expires)?),
            fencing_token: number(token)?,
        }))
    }
}

fn text(value: Value) -> Result<String, LeaseStoreError> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes)
            .map_err(|_| LeaseStoreError::Malformed("a field that is not UTF-8".to_owned())),
        Value::SimpleString(text) => Ok(text),
        other => Err(LeaseStoreError::Malformed(format!(
            "expected a string, got {other:?}"
        ))),
    }
}

fn number(value: Value) -> Result<u64, LeaseStoreError> {
    let text = text(value)?;
    text.parse()
        .map_err(|_| LeaseStoreError::Malformed(format!("expected a number, got {text:?}")))
}

/// The scripts, each the shared prelude followed by one operation.
struct Scripts {
    acquire: Script,
    release: Script,
    get: Script,
    enforce: Script,
    detach: Script,
    active: Script,
    len: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| {
    let script = |body: &str| Script::new(&format!("{PRELUDE}\n{body}"));
    Scripts {
        acquire: script(ACQUIRE),
        release: script(RELEASE),
        get: script(GET),
        enforce: script(ENFORCE),
        detach: script(DETACH),
        active: script(ACTIVE),
        len: script(LEN),
    }
});

/// Shared by every script. KEYS: expiry set, fencing counter, active hash.
/// ARGV: now_ms ('' = Redis's TIME), lease key prefix, ttl_ms, slack_ms,
/// max_leases, collect batch, then the operation's own arguments from ARGV[7].
///
/// Numbers are written with `%d`: Lua's `tostring` switches to exponent
/// notation past 14 digits, which the microsecond-seeded tokens reach.
/// Leases travel as `{session_id, holder, acquired_ms, refreshed_ms,
/// expires_ms, token}` with every field a string.
const PRELUDE: &str = r#"
local zkey, fkey, akey = KEYS[1], KEYS[2], KEYS[3]
local lease_prefix = ARGV[2]
local ttl = tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local max_leases = tonumber(ARGV[5])
local batch = tonumber(ARGV[6])

local function int(n) return string.format('%d', n) end

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end

local function lease_key(sid) return lease_prefix .. sid end

local function forget(sid)
  redis.call('DEL', lease_key(sid))
  redis.call('ZREM', zkey, sid)
end

-- The live lease of a session, or nil. An expired lease (expires_ms <= now)
-- is pruned here; a vanished one (Redis's own expiry) loses its count.
local function load(sid)
  local f = redis.call('HMGET', lease_key(sid),
    'holder', 'acquired_ms', 'refreshed_ms', 'expires_ms', 'token')
  if not (f[1] and f[2] and f[3] and f[4] and f[5]) then
    forget(sid)
    return nil
  end
  if tonumber(f[4]) <= now then
    forget(sid)
    return nil
  end
  return {sid, f[1], f[2], f[3], f[4], f[5]}
end

-- Prunes a bounded batch of expired leases; live ones found there get
-- their score back in step with their hash.
local function collect()
  local due = redis.call('ZRANGEBYSCORE', zkey, '-inf', int(now), 'LIMIT', 0, batch)
  for _, sid in ipairs(due) do
    local lease = load(sid)
    if lease then redis.call('ZADD', zkey, lease[5], sid) end
  end
end

-- Pruning the active session's lease clears the active holder, not the id.
local function settle_active()
  local a = redis.call('HMGET', akey, 'session_id', 'holder_id')
  if a[1] and a[2] and not load(a[1]) then
    redis.call('HDEL', akey, 'holder_id')
  end
end

local function live_count()
  return redis.call('ZCOUNT', zkey, '(' .. int(now), '+inf')
end

-- A fencing token larger than any handed out before, even after Redis
-- lost the counter (no persistence): a missing counter starts at Redis's
-- clock in microseconds.
local function next_token()
  if redis.call('EXISTS', fkey) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', fkey, t[1] .. string.format('%06d', tonumber(t[2])), 'NX')
  end
  return int(redis.call('INCR', fkey))
end

local function write(sid, holder, acquired_ms, token)
  local key = lease_key(sid)
  local expires = int(now + ttl)
  local keep = ttl + slack
  redis.call('HSET', key, 'holder', holder, 'acquired_ms', acquired_ms,
    'refreshed_ms', int(now), 'expires_ms', expires, 'token', token)
  redis.call('PEXPIRE', key, int(keep))
  redis.call('ZADD', zkey, expires, sid)
  if redis.call('PTTL', zkey) < keep then
    redis.call('PEXPIRE', zkey, int(keep))
  end
  return {sid, holder, acquired_ms, int(now), expires, token}
end

-- {code, lease, previous lease}
local function acquire(sid, holder, force)
  local cur = load(sid)
  if cur and cur[2] == holder then
    return {'held', write(sid, holder, cur[3], cur[6])}
  end
  if cur and not force then
    return {'locked', cur}
  end
  if not cur and live_count() >= max_leases then
    return {'limit'}
  end
  local lease = write(sid, holder, int(now), next_token())
  if cur then
    return {'taken_over', lease, cur}
  end
  return {'acquired', lease}
end

collect()
settle_active()
"#;

/// ARGV[7] session, ARGV[8] holder, ARGV[9] force, ARGV[10] make active.
const ACQUIRE: &str = r#"
local sid, holder = ARGV[7], ARGV[8]
local r = acquire(sid, holder, ARGV[9] == '1')
if ARGV[10] == '1' and (r[1] == 'acquired' or r[1] == 'held' or r[1] == 'taken_over') then
  redis.call('HSET', akey, 'session_id', sid, 'holder_id', holder)
end
return r
"#;

/// ARGV[7] session, ARGV[8] holder.
const RELEASE: &str = r#"
local sid, holder = ARGV[7], ARGV[8]
local cur = load(sid)
if cur and cur[2] ~= holder then
  return {'locked', cur}
end
if cur then forget(sid) end
if redis.call('HGET', akey, 'session_id') == sid then
  redis.call('HDEL', akey, 'holder_id')
end
if cur then return {'released', cur} end
return {'missing'}
"#;

/// ARGV[7] session.
const GET: &str = r#"
local cur = load(ARGV[7])
if cur then return {'locked', cur} end
return {'unlocked'}
"#;

/// ARGV[7] 'absent' | 'blank' | 'given', ARGV[8] trimmed holder, ARGV[9]
/// max id bytes. Mirrors the table: holder checks, id limits, then a
/// non-forced acquire that makes the caller the active holder.
const ENFORCE: &str = r#"
local a = redis.call('HMGET', akey, 'session_id', 'holder_id')
local sid = a[1]
if not (sid and a[2]) then return {'allowed'} end
if ARGV[7] == 'absent' then return {'missing_holder', sid} end
if ARGV[7] == 'blank' then return {'blank_holder', sid} end
local holder = ARGV[8]
local max_id = tonumber(ARGV[9])
if #sid > max_id then return {'session_too_long', sid} end
if #holder > max_id then return {'holder_too_long', sid} end
local r = acquire(sid, holder, false)
if r[1] == 'acquired' or r[1] == 'held' then
  redis.call('HSET', akey, 'holder_id', holder)
  return {'allowed'}
end
if r[1] == 'locked' then return {'locked', sid, r[2]} end
return {r[1], sid}
"#;

/// ARGV[7] '1' if a holder was given, ARGV[8] the trimmed holder.
const DETACH: &str = r#"
local a = redis.call('HMGET', akey, 'session_id', 'holder_id')
redis.call('DEL', akey)
if a[1] and a[2] and ARGV[7] == '1' and a[2] == ARGV[8] then
  local cur = load(a[1])
  if cur and cur[2] == ARGV[8] then forget(a[1]) end
end
return {'ok'}
"#;

const ACTIVE: &str = r#"
return redis.call('HMGET', akey, 'session_id', 'holder_id')
"#;

const LEN: &str = r#"
return live_count()
"#;
