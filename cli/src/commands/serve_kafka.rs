//! `tierctl serve-kafka`: the archive as a read-only Kafka broker, until SIGTERM or Ctrl-C.

use anyhow::Context;
use tier::kafka_api::{KafkaApiConfig, serve};
use tier::pipeline::Pipeline;
use tokio::net::TcpListener;

use super::Status;
use crate::args::ServeKafkaArgs;

pub async fn run(pipeline: Pipeline, args: ServeKafkaArgs, json: bool) -> anyhow::Result<Status> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr()?;
    let (host, port) = match &args.advertise {
        Some(a) => {
            let (host, port) = a
                .rsplit_once(':')
                .with_context(|| format!("--advertise {a}: expected host:port"))?;
            let port = port
                .parse()
                .with_context(|| format!("--advertise {a}: bad port"))?;
            (host.to_owned(), port)
        }
        None if local.ip().is_unspecified() => anyhow::bail!(
            "--listen {local} names no address clients can connect to: give --advertise host:port"
        ),
        None => (local.ip().to_string(), local.port()),
    };
    if !local.ip().is_loopback() {
        tracing::warn!(
            "serve-kafka listens on {local}, beyond this machine: it has no authentication and no \
             TLS, so anyone who can reach it reads every archived topic"
        );
        eprintln!(
            "warning: {local} is reachable beyond this machine; serve-kafka has no authentication \
             or TLS"
        );
    }
    let mut config = KafkaApiConfig::new(host, port);
    config.max_connections = args.max_connections;
    config.idle_timeout = std::time::Duration::from_secs(args.idle_timeout_secs.max(1));
    config.max_fetch_bytes = args.max_fetch_bytes.max(1);
    if json {
        println!(
            "{}",
            serde_json::json!({"listening": local.to_string(), "advertised": format!("{}:{}", config.advertised_host, config.advertised_port)})
        );
    } else {
        eprintln!(
            "serving the archive to Kafka clients on {local} (read-only; SIGTERM or Ctrl-C stops)"
        );
    }
    serve(listener, pipeline, config, shutdown_signal()).await?;
    if !json {
        eprintln!("serve-kafka stopped");
    }
    Ok(Status::Success)
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
