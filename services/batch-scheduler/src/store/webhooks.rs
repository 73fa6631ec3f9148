//! Webhook endpoints, the deliveries owed to them and the attempt log, in
//! plain SQL both backends accept (like [`super::IdentityStore`]).
//!
//! Events come from state, not from the code paths that change it: a job in
//! a final state whose `announced_at_ms` is unset, an analysis finished
//! after its `announced_at_ms`, is owed an event. [`WebhookStore::announce`]
//! claims one such row with a conditional update and writes its deliveries
//! in the same transaction, so of several scheduler replicas one announces
//! it, exactly once, and no way a job can end is missed.

use molbatch_db::{on_pool, on_tx, Db};

use crate::error::StoreError;

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// Where events go.
    pub url: String,
    /// Event types, comma-separated; empty for all.
    pub events: String,
    /// What it is for.
    pub description: String,
    /// The HMAC key.
    pub secret: String,
    /// Unix milliseconds of registration.
    pub created_at_ms: i64,
}

impl WebhookRow {
    /// Whether it receives `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.is_empty() || self.events.split(',').any(|e| e == event_type)
    }
}

const WEBHOOK_COLUMNS: &str = "id, tenant_id, url, events, description, secret, created_at_ms";

/// One logged attempt, with its delivery's event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// When, unix milliseconds.
    pub at_ms: i64,
    /// The answer's status; 0 without one.
    pub status_code: i64,
    /// Time to the answer.
    pub latency_ms: i64,
    /// Why it failed.
    pub error: String,
    /// delivered, retrying or failed.
    pub outcome: String,
    /// When the next attempt is due.
    pub next_attempt_at_ms: Option<i64>,
}

/// A delivery a sender has claimed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueDelivery {
    /// The delivery's id.
    pub id: i64,
    /// Where to send it.
    pub url: String,
    /// The key to sign it with.
    pub secret: String,
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The JSON body.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// When the event happened, unix milliseconds.
    pub created_at_ms: i64,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The answer's status; 0 without one.
    pub status_code: u16,
    /// Time to the answer.
    pub latency_ms: i64,
    /// Why it failed; empty when delivered.
    pub error: String,
    /// `None` when delivered or given up; else when to try again.
    pub next_attempt_at_ms: Option<i64>,
    /// True when delivered.
    pub delivered: bool,
}

/// A finished job or analysis not yet turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Unannounced {
    /// The job.
    pub job_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The analysis type; empty for the job itself.
    pub kind: String,
    /// The job's state or the analysis's status.
    pub state: String,
    /// When it finished (the analysis's last change), unix milliseconds.
    pub finished_at_ms: i64,
}

/// An event for one finished job or analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its id (a UUID).
    pub id: String,
    /// Its type, e.g. `job.completed`.
    pub event_type: String,
    /// The JSON body every endpoint is sent.
    pub body: String,
}

/// The webhook tables of the job store's database.
#[derive(Debug, Clone)]
pub struct WebhookStore {
    db: Db,
}

impl WebhookStore {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }

    /// Registers an endpoint.
    pub async fn create(&self, row: &WebhookRow) -> Result<(), StoreError> {
        let sql =
            format!("insert into webhook ({WEBHOOK_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7)");
        on_pool!(&self.db, pool => sqlx::query(&sql)
            .bind(&row.id)
            .bind(&row.tenant_id)
            .bind(&row.url)
            .bind(&row.events)
            .bind(&row.description)
            .bind(&row.secret)
            .bind(row.created_at_ms)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// A tenant's endpoints, oldest first.
    pub async fn list(&self, tenant: &str) -> Result<Vec<WebhookRow>, StoreError> {
        let sql = format!(
            "select {WEBHOOK_COLUMNS} from webhook where tenant_id = $1 order by created_at_ms, id"
        );
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql).bind(tenant).fetch_all(pool).await?))
    }

    /// Whether `tenant` has endpoint `id`.
    pub async fn exists(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let found: Option<(String,)> = on_pool!(&self.db, pool =>
            sqlx::query_as("select id from webhook where id = $1 and tenant_id = $2")
                .bind(id)
                .bind(tenant)
                .fetch_optional(pool)
                .await?);
        Ok(found.is_some())
    }

    /// Deletes `tenant`'s endpoint `id` with its deliveries and their
    /// attempts; false when the tenant has no such endpoint.
    pub async fn delete(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let deleted = on_tx!(&mut tx, conn => {
            sqlx::query(
                "delete from webhook_attempt where delivery_id in
                     (select d.id from webhook_delivery d join webhook w on w.id = d.webhook_id
                      where w.id = $1 and w.tenant_id = $2)",
            )
            .bind(id)
            .bind(tenant)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "delete from webhook_delivery where webhook_id in
                     (select id from webhook where id = $1 and tenant_id = $2)",
            )
            .bind(id)
            .bind(tenant)
            .execute(&mut *conn)
            .await?;
            sqlx::query("delete from webhook where id = $1 and tenant_id = $2")
                .bind(id)
                .bind(tenant)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(deleted == 1)
    }

    /// The last `limit` attempts at endpoint `id`, newest first.
    pub async fn attempts(&self, id: &str, limit: u32) -> Result<Vec<AttemptRow>, StoreError> {
        Ok(on_pool!(&self.db, pool => sqlx::query_as(
            "select d.event_id, d.event_type, a.attempt, a.at_ms, a.status_code, a.latency_ms,
                    a.error, a.outcome, a.next_attempt_at_ms
             from webhook_attempt a join webhook_delivery d on d.id = a.delivery_id
             where d.webhook_id = $1 order by a.id desc limit $2",
        )
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?))
    }

    /// Up to `limit` finished jobs and analyses owed an event, oldest first.
    pub async fn unannounced(&self, limit: u32) -> Result<Vec<Unannounced>, StoreError> {
        let limit = i64::from(limit);
        let mut found: Vec<Unannounced> = on_pool!(&self.db, pool => sqlx::query_as(
            "select id as job_id, tenant_id, '' as kind, state,
                    coalesce(ended_at_ms, updated_at_ms) as finished_at_ms
             from job
             where announced_at_ms is null and state in ('completed', 'failed', 'cancelled')
             order by ended_at_ms limit $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?);
        let analyses: Vec<Unannounced> = on_pool!(&self.db, pool => sqlx::query_as(
            "select a.job_id, j.tenant_id, a.type as kind, a.status as state,
                    a.updated_at_ms as finished_at_ms
             from analysis a join job j on j.id = a.job_id
             where a.status in ('complete', 'failed')
               and (a.announced_at_ms is null or a.announced_at_ms < a.updated_at_ms)
             order by a.updated_at_ms limit $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?);
        found.extend(analyses);
        Ok(found)
    }

    /// Claims `item` and writes `event` for every endpoint of its tenant
    /// that wants it, in one transaction. False when another replica
    /// announced it first (or the analysis changed since it was read).
    pub async fn announce(
        &self,
        item: &Unannounced,
        event: Option<&Event>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let claimed = on_tx!(&mut tx, conn => {
            let claimed = if item.kind.is_empty() {
                sqlx::query(
                    "update job set announced_at_ms = $2 where id = $1 and announced_at_ms is null",
                )
                .bind(&item.job_id)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected()
            } else {
                sqlx::query(
                    "update analysis set announced_at_ms = updated_at_ms
                     where job_id = $1 and type = $2 and updated_at_ms = $3
                       and (announced_at_ms is null or announced_at_ms < updated_at_ms)",
                )
                .bind(&item.job_id)
                .bind(&item.kind)
                .bind(item.finished_at_ms)
                .execute(&mut *conn)
                .await?
                .rows_affected()
            };
            if claimed == 1 {
                if let Some(event) = event {
                    let sql = format!("select {WEBHOOK_COLUMNS} from webhook where tenant_id = $1");
                    let endpoints: Vec<WebhookRow> = sqlx::query_as(&sql)
                        .bind(&item.tenant_id)
                        .fetch_all(&mut *conn)
                        .await?;
                    for endpoint in endpoints.iter().filter(|w| w.wants(&event.event_type)) {
                        sqlx::query(
                            "insert into webhook_delivery (webhook_id, event_id, event_type, body,
                                 state, attempts, created_at_ms, next_attempt_at_ms)
                             values ($1, $2, $3, $4, 'pending', 0, $5, $5)",
                        )
                        .bind(&endpoint.id)
                        .bind(&event.id)
                        .bind(&event.event_type)
                        .bind(&event.body)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
            }
            claimed == 1
        });
        tx.commit().await?;
        Ok(claimed)
    }

    /// Claims up to `limit` deliveries due at `now` (pending, past their next
    /// attempt time, not held by another sender) until `now + hold_ms`.
    pub async fn claim_due(
        &self,
        limit: u32,
        hold_ms: i64,
        now: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let skip_locked = tx.for_update_skip_locked();
        let due = on_tx!(&mut tx, conn => {
            let ids: Vec<(i64,)> = sqlx::query_as(&format!(
                "select id from webhook_delivery
                 where state = 'pending' and next_attempt_at_ms <= $1
                   and (leased_until_ms is null or leased_until_ms <= $1)
                 order by next_attempt_at_ms limit $2 {skip_locked}"
            ))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
            let mut due = Vec::with_capacity(ids.len());
            for (id,) in ids {
                sqlx::query("update webhook_delivery set leased_until_ms = $2 where id = $1")
                    .bind(id)
                    .bind(now + hold_ms)
                    .execute(&mut *conn)
                    .await?;
                let delivery: DueDelivery = sqlx::query_as(
                    "select d.id, w.url, w.secret, d.event_id, d.event_type, d.body, d.attempts,
                            d.created_at_ms
                     from webhook_delivery d join webhook w on w.id = d.webhook_id
                     where d.id = $1",
                )
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
                due.push(delivery);
            }
            due
        });
        tx.commit().await?;
        Ok(due)
    }

    /// Logs attempt `attempt` at delivery `id` and moves the delivery on:
    /// delivered, due again, or failed for good.
    pub async fn record(&self, id: i64, attempt: &Attempt, now: i64) -> Result<(), StoreError> {
        let (state, outcome) = match (attempt.delivered, attempt.next_attempt_at_ms) {
            (true, _) => ("delivered", "delivered"),
            (false, Some(_)) => ("pending", "retrying"),
            (false, None) => ("failed", "failed"),
        };
        let mut tx = self.db.begin_write().await?;
        on_tx!(&mut tx, conn => {
            let updated: Option<(i64,)> = sqlx::query_as(
                "update webhook_delivery set attempts = attempts + 1, state = $2,
                     next_attempt_at_ms = coalesce($3, next_attempt_at_ms), leased_until_ms = null
                 where id = $1 returning attempts",
            )
            .bind(id)
            .bind(state)
            .bind(attempt.next_attempt_at_ms)
            .fetch_optional(&mut *conn)
            .await?;
            // None: the endpoint was deleted while this attempt ran.
            if let Some((attempts,)) = updated {
            sqlx::query(
                "insert into webhook_attempt (delivery_id, attempt, at_ms, status_code, latency_ms,
                     error, outcome, next_attempt_at_ms)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(attempts)
            .bind(now)
            .bind(i64::from(attempt.status_code))
            .bind(attempt.latency_ms)
            .bind(&attempt.error)
            .bind(outcome)
            .bind(attempt.next_attempt_at_ms)
            .execute(&mut *conn)
            .await?;
            }
        });
        tx.commit().await?;
        Ok(())
    }
}
