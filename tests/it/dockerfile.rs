//! The container build, checked without a container engine: dependencies
//! are built in their own layer before `src/` is copied, bases are pinned,
//! the image runs as non-root with a HEALTHCHECK; and `flipfix-bot health`,
//! which that HEALTHCHECK runs, tells a serving process from a dead one.

use crate::support::repo_root;

/// The Dockerfile's instructions (continuation lines joined, comments out).
fn instructions() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("Dockerfile")).expect("read Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => current.push_str(start),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

fn position(steps: &[String], what: &str, pred: impl Fn(&str) -> bool) -> usize {
    steps
        .iter()
        .position(|s| pred(s))
        .unwrap_or_else(|| panic!("no {what} in the Dockerfile:\n{}", steps.join("\n")))
}

#[test]
fn dockerfile_builds_dependencies_before_copying_the_sources() {
    let steps = instructions();
    let manifests = position(&steps, "COPY of the manifests", |s| {
        s.starts_with("COPY Cargo.toml Cargo.lock")
    });
    let deps = position(&steps, "dependency build", |s| {
        s.starts_with("RUN") && s.contains("cargo build")
    });
    let sources = position(&steps, "COPY src", |s| s.starts_with("COPY src"));
    let crate_build = steps
        .iter()
        .rposition(|s| s.starts_with("RUN") && s.contains("cargo build"))
        .expect("the crate build");
    assert!(
        manifests < deps,
        "manifests are copied before the dependency build"
    );
    assert!(
        deps < sources,
        "dependencies are built before src/ is copied"
    );
    assert!(
        sources < crate_build,
        "the crate is built after src/ is copied"
    );
    // Only the manifests reach the dependency layer.
    for step in &steps[..deps] {
        if step.starts_with("COPY") {
            let sources = step.split_whitespace().skip(1).collect::<Vec<_>>();
            let (_, from) = sources.split_last().expect("a COPY has a destination");
            assert!(
                from.iter()
                    .all(|path| path.ends_with("Cargo.toml") || *path == "Cargo.lock"),
                "{step}"
            );
        }
    }
    assert!(steps[deps].contains("--locked"), "{}", steps[deps]);
}

#[test]
fn dockerfile_pins_its_bases_runs_as_non_root_and_checks_health() {
    let steps = instructions();
    let froms: Vec<&String> = steps.iter().filter(|s| s.starts_with("FROM")).collect();
    assert_eq!(froms.len(), 2, "a build and a runtime stage");
    let rust = froms[0].split_whitespace().nth(1).expect("build image");
    let (name, tag) = rust.split_once(':').expect("a tag");
    assert_eq!(name, "rust");
    let (version, release) = tag.split_once('-').expect("rust:<minor>-<debian>");
    assert_eq!(
        version.split('.').count(),
        2,
        "a Rust minor version: {rust}"
    );
    assert_eq!(release, "bookworm", "{rust}");
    assert_eq!(
        froms[1].split_whitespace().nth(1),
        Some("debian:bookworm-slim")
    );

    let user = position(&steps, "USER", |s| s.starts_with("USER "));
    assert_ne!(steps[user], "USER root");
    let cmd = position(&steps, "CMD", |s| s.starts_with("CMD"));
    assert!(user < cmd, "the process runs as the user");
    let health = position(&steps, "HEALTHCHECK", |s| s.starts_with("HEALTHCHECK"));
    assert!(
        steps[health].contains("\"flipfix-bot\", \"health\""),
        "{}",
        steps[health]
    );
}

async fn health(bind: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .arg("health")
        .arg("--secrets")
        .arg(dir.path().join("no-secrets.toml"))
        .env("HTTP_BIND", bind)
        .output()
        .await
        .expect("run flipfix-bot health")
}

#[tokio::test]
async fn health_exits_0_while_healthz_answers_and_1_when_nothing_serves() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok\n" }));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    // Bound on every interface, as in the container: reached on loopback.
    let output = health(&format!("0.0.0.0:{port}")).await;
    assert!(output.status.success(), "{output:?}");
    server.abort();
    let _ = server.await;
    let output = health(&format!("127.0.0.1:{port}")).await;
    assert!(!output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unhealthy"),
        "{output:?}"
    );
}

/// Cargo refuses a manifest whose targets are missing, so the dependency
/// layer stubs every bench and binary the manifest declares; a new bench
/// that is not stubbed would break the image build.
#[test]
fn the_dependency_layer_stubs_every_declared_target() {
    let manifest: toml::Table = std::fs::read_to_string(repo_root().join("Cargo.toml"))
        .expect("read Cargo.toml")
        .parse()
        .expect("Cargo.toml is TOML");
    let steps = instructions().join("\n");
    let benches = manifest["bench"].as_array().expect("[[bench]] targets");
    for bench in benches {
        let name = bench["name"].as_str().expect("a bench name");
        assert!(
            steps.contains(&format!(" {name}")) && steps.contains("benches/$bench.rs"),
            "the Dockerfile's dependency layer does not stub the bench `{name}`"
        );
    }
    assert!(
        steps.contains("src/bin/shuttle.rs"),
        "the shuttle binary stub"
    );
    // Every workspace crate besides the root: its manifest copied, its
    // library stubbed, its sources copied for the real build.
    let members = manifest["workspace"]["members"]
        .as_array()
        .expect("[workspace] members");
    for member in members
        .iter()
        .filter_map(|m| m.as_str())
        .filter(|m| *m != ".")
    {
        assert!(
            steps.contains(&format!("COPY {member}/Cargo.toml {member}/")),
            "the Dockerfile does not copy {member}'s manifest before the dependency build"
        );
        assert!(
            steps.contains(&format!("{member}/src/lib.rs")),
            "the Dockerfile does not stub {member}'s library"
        );
        let crates_dir = member.split('/').next().unwrap_or(member);
        assert!(
            steps.contains(&format!("COPY {crates_dir} ./{crates_dir}")),
            "the Dockerfile does not copy {member}'s sources"
        );
    }
}
