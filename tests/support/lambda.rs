//! The function inside the Lambda runtime emulator: `cargo lambda watch` started with its
//! environment pointed at moto, and `cargo lambda invoke`.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::moto::AtMoto;

/// A free local port for the emulator.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cargo lambda watch`, killed (with the function it runs) when dropped.
pub struct Watch {
    child: Child,
    pub log: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The watcher does not stop on SIGTERM; end its whole process group. The function it
        // started exits by itself once the runtime API is gone.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .status();
        let _ = self.child.wait();
    }
}

/// Fails the test, saying how to install it, when `cargo lambda` cannot run: the test never
/// passes without having run (`cargo test -- --skip aws_` leaves it out on purpose).
pub fn require_cargo_lambda() {
    let version = Command::new("cargo").args(["lambda", "--version"]).output();
    if !version.as_ref().is_ok_and(|o| o.status.success()) {
        let why = match version {
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            Err(e) => e.to_string(),
        };
        panic!(
            "cargo-lambda is not available ({why}); install it with: pip install cargo-lambda; \
             to skip the AWS tests instead: cargo test -- --skip aws_"
        );
    }
}

/// `cargo lambda watch` on `port`, the function's AWS clients pointed at `moto` (or a proxy in
/// front of it), its findings to `topic_arn`, with `env` added.
pub fn start_watch(port: u16, moto: &str, topic_arn: &str, env: &[(&str, &str)]) -> Watch {
    use std::os::unix::process::CommandExt;
    let log = format!("{}/lambda-watch-{port}.log", env!("CARGO_TARGET_TMPDIR"));
    let out = File::create(&log).unwrap();
    let child = Command::new("cargo")
        .args([
            "lambda",
            "watch",
            "--ignore-changes",
            "-A",
            "127.0.0.1",
            "-P",
        ])
        .arg(port.to_string())
        .env("FINDINGS_TOPIC_ARN", topic_arn)
        .at_moto(moto)
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env_remove("TRUSTED_ACCOUNT_IDS")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .process_group(0)
        .spawn()
        .expect("cargo lambda watch starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "cargo lambda watch did not listen:\n{}",
            read(&log)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Watch { child, log }
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `cargo lambda invoke` of the function behind `port` with the event in `data_file`.
pub fn invoke(port: u16, data_file: &Path) -> Output {
    Command::new("cargo")
        .args(["lambda", "invoke", "-A", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .arg("--data-file")
        .arg(data_file)
        .args(["--output-format", "json", "snapshot-share-detector"])
        .output()
        .unwrap()
}
