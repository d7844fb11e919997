//! `audit`: what each account owns that is shared outside it now, across accounts and regions.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::output::{self, Color, Format};
use super::progress::{audit_line, Ticker};
use crate::audit::analyzer::Choice;
use crate::audit::{self, Options, Plan, Role, Totals};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Regions to audit (repeat, or separate with commas) [default: AUDIT_REGIONS, else every
    /// region enabled for each account]
    #[arg(long = "region", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Accounts to audit (repeat, or separate with commas), each through --role-name
    /// [default: the caller's own account]
    #[arg(long = "account", value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Audit every active account of the organization (organizations:ListAccounts, from the
    /// management account or a delegated administrator), each through --role-name.
    #[arg(long, conflicts_with = "accounts")]
    pub organization: bool,
    /// The role to assume in each account (audit-role.yaml creates it) [default:
    /// AUDIT_ROLE_NAME]
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// The external id the role's trust policy requires [default: AUDIT_EXTERNAL_ID]
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Take EBS and RDS snapshots from IAM Access Analyzer's active findings instead of reading
    /// each one: `auto` (the caller's external-access analyzer in each region, an
    /// organization's first) or an analyzer's ARN (its region only). AMIs and block public
    /// access are still read per account [default: AUDIT_ACCESS_ANALYZER]
    #[arg(long, value_name = "ARN|auto", value_parser = parse_analyzer)]
    pub access_analyzer: Option<Choice>,
    /// Also publish the exposures to the SNS topic in FINDINGS_TOPIC_ARN (de-duplicated by
    /// DEDUP_TABLE, so that a daily audit alerts once per exposure) and, with SECURITY_HUB=true,
    /// to Security Hub, where the exposures an earlier audit reported and this one no longer
    /// sees are resolved.
    #[arg(long)]
    pub publish: bool,
    /// Do not print the summary line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Account-regions audited side by side (each has EC2 buckets of its own).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Permission reads in flight in one account-region, paced by EC2's bucket for the call
    /// (100, then 20 a second).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub per_region: u16,
    /// How exposures are printed [default: text on a terminal, json otherwise]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// When text is coloured.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = Color::Auto)]
    pub color: Color,
}

/// Runs `audit`; returns the process exit status: 0 when every account and region was read,
/// 2 when any could not be (they are named), 1 when an exposure could not be published.
pub async fn audit(args: AuditArgs) -> ExitCode {
    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.publish && !config.outputs.delivers() {
        eprintln!("error: --publish needs FINDINGS_TOPIC_ARN or SECURITY_HUB=true");
        return ExitCode::from(2);
    }
    config.clients.retry_attempts = Some(10);
    let role = match args.role_name.clone() {
        Some(name) => Some(Role {
            name,
            external_id: args.external_id.clone(),
        }),
        None => config.audit.role.clone(),
    };
    if args.organization && role.is_none() {
        eprintln!("error: --organization needs --role-name (or AUDIT_ROLE_NAME)");
        return ExitCode::from(2);
    }
    let sdk = crate::aws::sdk_config(&config.clients).await;
    let plan = match Plan::new(
        sdk.clone(),
        &config.clients,
        args.accounts.clone(),
        args.organization,
        role,
    )
    .await
    {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let sink = crate::sink::build(
        &config.outputs,
        Some(&sdk),
        &config.clients,
        args.publish,
        true,
        output::lines(
            args.format,
            args.color,
            io::stdout().is_terminal(),
            |name| std::env::var_os(name),
        ),
    );
    let regions = match args.regions.is_empty() {
        true => config.audit.regions.clone(),
        false => args.regions.iter().map(|r| r.trim().to_owned()).collect(),
    };
    let options = Options {
        trusted: config.settings.trusted.clone(),
        regions,
        per_region: usize::from(args.per_region),
        side_by_side: usize::from(args.concurrency),
        time: crate::finding::rfc3339_of_epoch(crate::epoch_ms() / 1000),
        analyzer: args
            .access_analyzer
            .clone()
            .or_else(|| config.audit.access_analyzer.clone()),
    };
    let started = Instant::now();
    let totals = Arc::new(Totals::default());
    let ticker = (!args.quiet && io::stderr().is_terminal()).then(|| {
        let totals = Arc::clone(&totals);
        Ticker::start("audit", move |elapsed| audit_line(&totals, elapsed))
    });
    let recall = crate::sink::recall(&config.outputs, Some(&sdk), &config.clients, args.publish);
    let recall = recall.as_deref();
    audit::run(
        &plan,
        &config.clients,
        &options,
        sink.as_ref(),
        recall,
        &totals,
    )
    .await;
    if let Some(ticker) = ticker {
        ticker.stop().await;
    }
    let report = totals.report();
    if !args.quiet {
        for u in &report.unreadable {
            let region = u
                .region
                .as_deref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default();
            eprintln!("error: account {}{region}: {}", u.account, u.reason);
        }
        for note in &report.notes {
            eprintln!("note: {note}");
        }
        let analyzed = match report.from_analyzer {
            0 => String::new(),
            n => format!(" ({n} from Access Analyzer)"),
        };
        let resolved = match report.resolved {
            0 => String::new(),
            n => format!(", {n} resolved"),
        };
        let published = if args.publish {
            format!("{resolved}, {} published", report.delivered)
        } else {
            String::new()
        };
        eprintln!(
            "audited {} accounts, {} regions: {} resources{analyzed}, {} exposures{published}, {} unreadable in {:.2}s",
            report.accounts,
            report.regions,
            report.resources,
            report.exposures,
            report.unreadable.len(),
            started.elapsed().as_secs_f64(),
        );
    }
    if !report.unreadable.is_empty() {
        ExitCode::from(2)
    } else if report.undelivered > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn parse_analyzer(s: &str) -> Result<Choice, String> {
    s.parse()
}
