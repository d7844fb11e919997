//! `snapshot-share-detector`: the Lambda function (no command, inside Lambda) or the `scan` CLI.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use snapshot_share_detector::cli::{self, Cli, Command};
use snapshot_share_detector::lambda;

/// The stack of the runtime's threads, where everything runs. The Security Hub SDK's types are
/// large (a finding's resource details alone are 31 KB) and reading findings back
/// (`GetFindings`, for the audit) nests their parsers deeply: a debug build overflowed the
/// main thread's 8 MiB. Reserved, not committed: only what is touched costs memory.
const STACK_BYTES: usize = 64 << 20;

fn main() -> ExitCode {
    // The main future runs on a thread of that stack, and so do the runtime's workers.
    let main = std::thread::Builder::new()
        .name("main".to_owned())
        .stack_size(STACK_BYTES)
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_stack_size(STACK_BYTES)
                .build();
            match runtime {
                Ok(runtime) => runtime.block_on(run()),
                Err(e) => {
                    eprintln!("error: cannot start the runtime: {e}");
                    ExitCode::FAILURE
                }
            }
        });
    match main.map(|thread| thread.join()) {
        Ok(Ok(code)) => code,
        // A panic has been reported on stderr already.
        Ok(Err(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: cannot start the main thread: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let args = Cli::parse();
    match args.command {
        Some(Command::Scan(scan)) => {
            init_cli_logging();
            cli::scan(scan).await
        }
        Some(Command::Audit(audit)) => {
            init_cli_logging();
            cli::audit(audit).await
        }
        Some(Command::Completions { shell }) => {
            let mut cmd = Cli::command();
            let name = cmd.get_name().to_owned();
            clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Some(Command::Man) => {
            let written = cli::man_page().and_then(|page| std::io::stdout().write_all(&page));
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        None if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => match lambda::run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        None => {
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr (stdout carries findings), warnings and errors only unless `RUST_LOG`
/// says otherwise.
fn init_cli_logging() {
    if std::env::var_os("RUST_LOG").is_none() && std::env::var_os("AWS_LAMBDA_LOG_LEVEL").is_none()
    {
        std::env::set_var("RUST_LOG", "warn");
    }
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
}
