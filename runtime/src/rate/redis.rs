//! The Redis store: GCRA in one atomic Lua script that reads the time from Redis (`TIME`), so
//! every replica shares one limit and no replica's clock matters.

use std::sync::Mutex;

use redis::aio::MultiplexedConnection;

use super::{Decision, RateLimit, RateLimitStore, StoreError, StoreFuture};

/// `KEYS[1]`: the bucket; `ARGV[1]`: the emission interval (µs); `ARGV[2]`: the burst.
/// Returns 0 when the request is counted, else the µs until one would be.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
";

/// Counters in Redis, shared by every replica (feature `redis`).
pub struct RedisStore {
    client: redis::Client,
    script: redis::Script,
    /// The open connection, dropped after an error so the next check reconnects.
    connection: Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("RedisStore").finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on `url` (`redis://…`); connects on first use, reconnects after a failure.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError(format!("invalid Redis URL ({})", e.kind_text())))?;
        Ok(Self {
            client,
            script: redis::Script::new(GCRA),
            connection: Mutex::new(None),
        })
    }

    /// Connects (or reuses the connection) and sends `PING` (`doctor`'s check).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(|_| ())
            .map_err(|e| {
                self.forget_connection();
                StoreError(format!("Redis did not answer PING ({})", e.kind_text()))
            })
    }

    async fn connection(&self) -> Result<MultiplexedConnection, StoreError> {
        let cached = self
            .connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(connection) = cached {
            return Ok(connection);
        }
        let connection = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| StoreError(format!("cannot connect to Redis ({})", e.kind_text())))?;
        *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = Some(connection.clone());
        Ok(connection)
    }

    fn forget_connection(&self) {
        *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

trait KindText {
    fn kind_text(&self) -> String;
}

impl KindText for redis::RedisError {
    /// The error's category and detail, never the URL.
    fn kind_text(&self) -> String {
        format!("{:?}", self.kind())
    }
}

impl RateLimitStore for RedisStore {
    fn reset(&self) {
        self.forget_connection();
    }

    fn check<'a>(&'a self, bucket: &'a str, limit: &'a RateLimit) -> StoreFuture<'a> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let interval = u64::try_from(limit.interval().as_micros())
                .unwrap_or(u64::MAX)
                .max(1);
            let wait: i64 = self
                .script
                .key(format!("rasura:rate:{bucket}"))
                .arg(interval)
                .arg(limit.burst())
                .invoke_async(&mut connection)
                .await
                .map_err(|e| {
                    self.forget_connection();
                    StoreError(format!("Redis script failed ({})", e.kind_text()))
                })?;
            Ok(if wait > 0 {
                Decision::Limited {
                    retry_after: std::time::Duration::from_micros(wait.unsigned_abs()),
                }
            } else {
                Decision::Allowed
            })
        })
    }
}
