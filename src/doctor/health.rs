//! `flipfix-bot health`: the container's HEALTHCHECK. Asks this machine's
//! `/healthz` on the address the pages are served on, so the image needs no
//! curl; exits 0 when it answers 200.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

/// Where to reach a server bound to `bind` from the same machine.
pub fn local_address(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

pub async fn run(bind: SocketAddr) -> ExitCode {
    let url = format!("http://{}/healthz", local_address(bind));
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            eprintln!("unhealthy: cannot build an HTTP client ({err})");
            return ExitCode::FAILURE;
        }
    };
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => {
            println!("healthy: {url} answered {}", response.status().as_u16());
            ExitCode::SUCCESS
        }
        Ok(response) => {
            eprintln!("unhealthy: {url} answered {}", response.status().as_u16());
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("unhealthy: {url} did not answer ({err})");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_address_is_reached_on_loopback() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(local_address(any).to_string(), "127.0.0.1:8080");
        let v6: SocketAddr = "[::]:9000".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(local_address(v6).to_string(), "[::1]:9000");
        let given: SocketAddr = "10.0.0.2:80".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(local_address(given), given);
    }
}
