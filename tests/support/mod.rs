//! What the integration tests share, one module per job. Each test file takes it with
//! `mod support;`; the fuzz crate includes [`oracle`] by path, so that there is one copy.
//!
//! - [`moto`]: the moto server, SDK clients pointed at it, a findings topic with a queue, what
//!   arrived, the handler run on a payload;
//! - [`lambda`]: the function in the Lambda runtime emulator (`cargo lambda watch`);
//! - [`proxy`] (on [`http`]): the HTTP fault proxy between the SDK clients and moto;
//! - [`records`]: CloudTrail records, log files and keys, and the sample events on disk;
//! - [`seed`]: EBS snapshots, AMIs and RDS snapshots in moto, each in an account of its own,
//!   shared as a test says;
//! - [`output`]: what the binary prints, the findings and their targets;
//! - [`ocsf`]: an OCSF schema (the source files under tests/fixtures/ocsf/) and a validator of
//!   events against it;
//! - [`gzip`]: gzip members, and gzip log files;
//! - [`oracle`]: the findings of a full parse, what the fast reader must match;
//! - [`cfn`] and [`stack`]: the CloudFormation templates read as data, and a stack of them
//!   evaluated for given parameters; [`patterns`]: the events their EventBridge rules and
//!   log subscription filters let through, as lists of names;
//! - [`securityhub`]: Security Hub on moto, and the call moto lacks;
//! - [`terminal`]: the binary on a pseudo-terminal;
//! - [`prng`]: a small seeded generator, so that a failure is reproducible from its seed;
//! - [`cases`], [`files`] and [`edits`]: proptest generators of CloudTrail records, of log
//!   files, and of byte edits.
//!
//! A test binary uses only some of it.
#![allow(dead_code)]

pub mod cases;
pub mod cfn;
pub mod edits;
pub mod files;
pub mod gzip;
pub mod http;
pub mod lambda;
pub mod moto;
pub mod ocsf;
pub mod oracle;
pub mod output;
pub mod patterns;
pub mod prng;
pub mod proxy;
pub mod records;
pub mod securityhub;
pub mod seed;
pub mod stack;
pub mod terminal;
