//! Many clients heartbeat and release the same and different sessions at
//! once; every answer must fit some serial order of the calls.

mod common;

use common::hammer::{check_serial, hammer};
use common::{Store, TestServer};

async fn concurrent_heartbeats_and_releases_fit_a_serial_order(store: Store) {
    let Some(server) = TestServer::start_on(store).await else {
        return;
    };
    let channel = server.channel().await;
    let answers = hammer(std::slice::from_ref(&channel), 32, 60).await;
    check_serial(&answers, channel).await;
    server.stop().await;
}

both_stores!(concurrent_heartbeats_and_releases_fit_a_serial_order);
