//! The server around the service: health, reflection, shutdown and the
//! command line's failure modes.

mod common;

use std::process::Command;
use std::time::Duration;

use common::TestServer;
use tokio_stream::StreamExt as _;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use walker_service::server::{SERVICE_NAME, ServerOptions};

async fn health_status(
    client: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
) -> ServingStatus {
    let response = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap();
    response.into_inner().status()
}

#[tokio::test]
async fn health_answers_serving_overall_and_for_the_service() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel().await);
    assert_eq!(health_status(&mut health, "").await, ServingStatus::Serving);
    assert_eq!(
        health_status(&mut health, SERVICE_NAME).await,
        ServingStatus::Serving
    );
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn health_turns_not_serving_once_shutdown_begins() {
    let mut server = TestServer::start_with(ServerOptions {
        drain: Duration::from_millis(800),
        ..ServerOptions::default()
    })
    .await;
    let mut health = HealthClient::new(server.channel().await);
    assert_eq!(health_status(&mut health, "").await, ServingStatus::Serving);
    server.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        health_status(&mut health, "").await,
        ServingStatus::NotServing
    );
    assert_eq!(
        health_status(&mut health, SERVICE_NAME).await,
        ServingStatus::NotServing
    );
    // The service itself still answers while draining.
    let mut client = server.client().await;
    let answer = client
        .get_lock(walker_service::api::pb::GetLockRequest {
            session_id: "s1".into(),
        })
        .await;
    assert!(answer.is_ok());
    server.join().await.unwrap();
}

#[tokio::test]
async fn reflection_v1_lists_the_walker_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = TestServer::start().await;
    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&SERVICE_NAME.to_owned()), "{names:?}");
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn reflection_v1alpha_describes_the_walker_service() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    let server = TestServer::start().await;
    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(SERVICE_NAME.into())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.next().await.unwrap().unwrap();
    let Some(MessageResponse::FileDescriptorResponse(files)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}");
    };
    assert!(!files.file_descriptor_proto.is_empty());
    server.stop().await;
}

#[test]
fn serve_fails_clearly_when_the_address_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_walker-service"))
        .args(["serve", "--listen", &addr.to_string()])
        .env_remove("WALKER_LISTEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")) && stderr.contains("in use"),
        "{stderr}"
    );
}

#[test]
fn serve_rejects_a_bad_flag_with_a_clear_message() {
    for args in [
        vec!["serve", "--listen", "not-an-address"],
        vec!["serve", "--lock-ttl-secs", "0"],
        vec!["serve", "--load", "c=20261203_124212_pyphen"],
        vec!["serve", "--no-such-flag"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_walker-service"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("error:"), "{args:?}: {stderr}");
    }
}

#[test]
fn serve_reads_flags_from_the_environment() {
    let output = Command::new(env!("CARGO_BIN_EXE_walker-service"))
        .args(["serve"])
        .env("WALKER_LOCK_TTL_SECS", "zero")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("zero"));
}
