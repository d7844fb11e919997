//! The idempotency stores behind [`super::Dedup`]: the [`Ledger`] trait, the DynamoDB table of
//! `DEDUP_TABLE` ([`DynamoLedger`]) and an in-memory one for tests ([`MemoryLedger`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;

/// What the store said to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The id is ours until the lease ends: publish it.
    Reserved,
    /// Published before: a duplicate.
    Published,
    /// Reserved by another path, not published yet, its lease still running.
    InFlight,
}

/// One reservation: the id, whose it is, and the times (milliseconds and seconds since the
/// epoch).
#[derive(Debug, Clone)]
pub struct Reservation<'a> {
    pub finding_id: &'a str,
    pub token: &'a str,
    pub now_ms: u64,
    pub lease_until_ms: u64,
    /// The item's TTL, in seconds since the epoch (DynamoDB's TTL format).
    pub expires_at: u64,
}

/// The store could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LedgerError(pub String);

/// The idempotency store: the three conditional operations of the protocol above.
pub trait Ledger: Send + Sync {
    /// Reserves `r.finding_id` if nobody holds it, or says who does.
    fn reserve(
        &self,
        r: &Reservation<'_>,
    ) -> impl Future<Output = Result<Claim, LedgerError>> + Send;
    /// Records `finding_id` as published, remembered until `expires_at`.
    fn confirm(
        &self,
        finding_id: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// Ends the reservation `token` holds on `finding_id`, if it still holds it.
    fn release(
        &self,
        finding_id: &str,
        token: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// The store, for messages (`table NAME`).
    fn name(&self) -> String;
}

/// One store shared by several sinks, as the paths of one deployment share one table.
impl<L: Ledger> Ledger for std::sync::Arc<L> {
    async fn reserve(&self, r: &Reservation<'_>) -> Result<Claim, LedgerError> {
        (**self).reserve(r).await
    }

    async fn confirm(&self, finding_id: &str, expires_at: u64) -> Result<(), LedgerError> {
        (**self).confirm(finding_id, expires_at).await
    }

    async fn release(&self, finding_id: &str, token: &str) -> Result<(), LedgerError> {
        (**self).release(finding_id, token).await
    }

    fn name(&self) -> String {
        (**self).name()
    }
}

// ---------------------------------------------------------------------------------------------

/// The DynamoDB table of `DEDUP_TABLE`: partition key `finding_id` (string); `state`
/// (`reserved` or `published`), `token`, `lease_until` (ms since the epoch) and `expires_at`
/// (the TTL attribute, seconds since the epoch). Needs `dynamodb:PutItem`, `UpdateItem` and
/// `GetItem` on the table.
#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// The attribute DynamoDB's TTL is set on (the template's `TimeToLiveSpecification`).
pub const TTL_ATTRIBUTE: &str = "expires_at";

impl DynamoLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoLedger {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The state of the item, read strongly consistent.
    async fn state(&self, finding_id: &str) -> Result<Option<String>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("finding_id", s(finding_id))
            .consistent_read(true)
            .projection_expression("#state")
            .expression_attribute_names("#state", "state")
            .send()
            .await
            .map_err(|e| LedgerError(crate::aws::describe(&e)))?;
        Ok(out
            .item
            .and_then(|item| item.get("state")?.as_s().ok().cloned()))
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl Ledger for DynamoLedger {
    async fn reserve(&self, r: &Reservation<'_>) -> Result<Claim, LedgerError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("finding_id", s(r.finding_id))
            .item("state", s("reserved"))
            .item("token", s(r.token))
            .item("lease_until", n(r.lease_until_ms))
            .item(TTL_ATTRIBUTE, n(r.expires_at))
            .condition_expression(
                "attribute_not_exists(finding_id) OR (#state = :reserved AND #lease < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_values(":reserved", s("reserved"))
            .expression_attribute_values(":now", n(r.now_ms))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Reserved),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // Someone holds it: published, or reserved and not expired. An item gone in
                // between (its TTL) is in flight too: the retry reserves it.
                match self.state(r.finding_id).await?.as_deref() {
                    Some("published") => Ok(Claim::Published),
                    _ => Ok(Claim::InFlight),
                }
            }
            Err(e) => Err(LedgerError(crate::aws::describe(&e))),
        }
    }

    async fn confirm(&self, finding_id: &str, expires_at: u64) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("finding_id", s(finding_id))
            .update_expression("SET #state = :published, #ttl = :ttl REMOVE #lease, #token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":published", s("published"))
            .expression_attribute_values(":ttl", n(expires_at))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| LedgerError(crate::aws::describe(&e)))
    }

    async fn release(&self, finding_id: &str, token: &str) -> Result<(), LedgerError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("finding_id", s(finding_id))
            .update_expression("SET #lease = :zero")
            .condition_expression("#state = :reserved AND #token = :token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":reserved", s("reserved"))
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        match update {
            Ok(_) => Ok(()),
            // No longer ours (its lease ran out and another path took it): nothing to release.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(LedgerError(crate::aws::describe(&e))),
        }
    }

    fn name(&self) -> String {
        format!("table {}", self.table)
    }
}

// ---------------------------------------------------------------------------------------------

/// The same protocol in memory: for unit tests, and for embedding the detector in one process.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    items: Mutex<HashMap<String, Entry>>,
    unreachable: AtomicBool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    published: bool,
    token: String,
    lease_until_ms: u64,
}

impl MemoryLedger {
    /// Makes every call fail (`true`) or work again (`false`), as an unreachable store would.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.unreachable.store(unreachable, Ordering::SeqCst);
    }

    /// Whether `finding_id` is recorded as published.
    pub fn is_published(&self, finding_id: &str) -> bool {
        self.lock().get(finding_id).is_some_and(|e| e.published)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(&self) -> Result<(), LedgerError> {
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(LedgerError("unreachable (memory ledger)".to_owned()));
        }
        Ok(())
    }
}

impl Ledger for MemoryLedger {
    async fn reserve(&self, r: &Reservation<'_>) -> Result<Claim, LedgerError> {
        self.check()?;
        let mut items = self.lock();
        match items.get(r.finding_id) {
            Some(e) if e.published => return Ok(Claim::Published),
            Some(e) if e.lease_until_ms >= r.now_ms => return Ok(Claim::InFlight),
            _ => {}
        }
        items.insert(
            r.finding_id.to_owned(),
            Entry {
                published: false,
                token: r.token.to_owned(),
                lease_until_ms: r.lease_until_ms,
            },
        );
        Ok(Claim::Reserved)
    }

    async fn confirm(&self, finding_id: &str, _expires_at: u64) -> Result<(), LedgerError> {
        self.check()?;
        let mut items = self.lock();
        let entry = items.entry(finding_id.to_owned()).or_insert(Entry {
            published: true,
            token: String::new(),
            lease_until_ms: 0,
        });
        entry.published = true;
        Ok(())
    }

    async fn release(&self, finding_id: &str, token: &str) -> Result<(), LedgerError> {
        self.check()?;
        if let Some(e) = self.lock().get_mut(finding_id) {
            if !e.published && e.token == token {
                e.lease_until_ms = 0;
            }
        }
        Ok(())
    }

    fn name(&self) -> String {
        "memory ledger".to_owned()
    }
}
