//! Many clients heartbeat and release a few shared sessions (and one of
//! their own) at once; [`check_serial`] then proves every answer fits some
//! serial order of the calls.

use std::collections::{BTreeMap, BTreeSet};

use tonic::transport::Channel;
use walker_service::api::pb::walker_service_client::WalkerServiceClient;
use walker_service::api::pb::{
    GetLockRequest, HeartbeatLockRequest, ReleaseLockRequest, get_lock_response,
    heartbeat_lock_response, release_lock_response,
};

pub const SHARED_SESSIONS: [&str; 3] = ["shared-1", "shared-2", "shared-3"];

#[derive(Debug)]
pub enum Answer {
    /// Heartbeat answered `held` with this token.
    Held {
        session: String,
        holder: String,
        token: u64,
    },
    /// Release answered `released` for this token.
    Released {
        session: String,
        holder: String,
        token: u64,
    },
    /// Refused: another holder (named, with its token) has the lease.
    Locked {
        session: String,
        holder: String,
        token: u64,
    },
    Missing,
}

/// Runs `tasks` clients for `rounds` rounds each; client `i` talks to
/// `channels[i % channels.len()]` (one channel per replica).
pub async fn hammer(channels: &[Channel], tasks: usize, rounds: usize) -> Vec<Answer> {
    let mut handles = Vec::new();
    for task in 0..tasks {
        let mut client = WalkerServiceClient::new(channels[task % channels.len()].clone());
        handles.push(tokio::spawn(async move {
            let holder = format!("tab-{task}");
            let own_session = format!("own-{task}");
            let mut answers = Vec::new();
            for round in 0..rounds {
                let session = if round % 4 == 3 {
                    own_session.clone()
                } else {
                    SHARED_SESSIONS[(task + round) % SHARED_SESSIONS.len()].to_owned()
                };
                let heartbeat = client
                    .heartbeat_lock(HeartbeatLockRequest {
                        session_id: session.clone(),
                        lock_holder_id: Some(holder.clone()),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                answers.push(match heartbeat.result.unwrap() {
                    heartbeat_lock_response::Result::LockStatus(status) => {
                        assert_eq!(status.status, "held");
                        let lock = status.lock.unwrap();
                        assert_eq!(lock.holder_id, holder);
                        Answer::Held {
                            session: session.clone(),
                            holder: holder.clone(),
                            token: lock.fencing_token,
                        }
                    }
                    heartbeat_lock_response::Result::Error(error) => {
                        assert_eq!(error.message, "session lock held by another holder");
                        let lock = error.lock.unwrap();
                        assert_ne!(lock.holder_id, holder);
                        Answer::Locked {
                            session: session.clone(),
                            holder: lock.holder_id,
                            token: lock.fencing_token,
                        }
                    }
                });
                if round % 3 != 0 {
                    let release = client
                        .release_lock(ReleaseLockRequest {
                            session_id: session.clone(),
                            lock_holder_id: Some(holder.clone()),
                        })
                        .await
                        .unwrap()
                        .into_inner();
                    answers.push(match release.result.unwrap() {
                        release_lock_response::Result::LockStatus(status)
                            if status.status == "released" =>
                        {
                            let lock = status.lock.unwrap();
                            Answer::Released {
                                session: session.clone(),
                                holder: lock.holder_id,
                                token: lock.fencing_token,
                            }
                        }
                        release_lock_response::Result::LockStatus(status) => {
                            assert_eq!(status.status, "missing");
                            Answer::Missing
                        }
                        release_lock_response::Result::Error(error) => {
                            let lock = error.lock.unwrap();
                            Answer::Locked {
                                session: session.clone(),
                                holder: lock.holder_id,
                                token: lock.fencing_token,
                            }
                        }
                    });
                }
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for handle in handles {
        answers.extend(handle.await.unwrap());
    }
    answers
}

/// Checks that no grant (token) of a session ever had two holders, that each
/// grant was released at most once, and — the clock does not move, so a grant
/// ends only by its release — that grants = releases + (1 if still held).
pub async fn check_serial(answers: &[Answer], channel: Channel) {
    let mut holder_of: BTreeMap<(String, u64), String> = BTreeMap::new();
    let mut granted: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut released: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for answer in answers {
        let (session, holder, token) = match answer {
            Answer::Held {
                session,
                holder,
                token,
            }
            | Answer::Released {
                session,
                holder,
                token,
            }
            | Answer::Locked {
                session,
                holder,
                token,
            } => (session, holder, *token),
            Answer::Missing => continue,
        };
        let owner = holder_of
            .entry((session.clone(), token))
            .or_insert_with(|| holder.clone());
        assert_eq!(owner, holder, "token {token} of {session} had two holders");
        granted.entry(session.clone()).or_default().insert(token);
        if let Answer::Released { .. } = answer {
            released.entry(session.clone()).or_default().push(token);
        }
    }
    let mut client = WalkerServiceClient::new(channel);
    for (session, tokens) in &granted {
        let releases = released.get(session).cloned().unwrap_or_default();
        let unique: BTreeSet<_> = releases.iter().copied().collect();
        assert_eq!(
            unique.len(),
            releases.len(),
            "{session}: a grant released twice"
        );
        let now = client
            .get_lock(GetLockRequest {
                session_id: session.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let still_held = match now.result.unwrap() {
            get_lock_response::Result::LockStatus(status) => status.status == "locked",
            get_lock_response::Result::Error(error) => panic!("{error:?}"),
        };
        assert_eq!(
            tokens.len(),
            releases.len() + usize::from(still_held),
            "{session}: grants {tokens:?}, releases {releases:?}, held now {still_held}"
        );
    }
    assert!(
        granted.len() > SHARED_SESSIONS.len(),
        "own sessions were granted too"
    );
}
