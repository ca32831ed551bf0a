//! The PostgreSQL backend: records shared by several stations
//! (`postgres://user@host/db`), without TLS (a factory network or loopback).

use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls};

use super::{Backend, DbError, Exec, RecordError, Value};

/// Serialises `CREATE TABLE IF NOT EXISTS` across stations starting at once:
/// PostgreSQL can fail two concurrent creations of one table on its catalog's
/// unique index. Any fixed number; this is "espboot" in ASCII.
const SCHEMA_LOCK: i64 = 0x0065_7370_626f_6f74;

/// A PostgreSQL database.
pub struct Postgres {
    name: String,
    client: Client,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("name", &self.name)
            .finish()
    }
}

/// `url` without its password, for messages.
pub(super) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

impl Postgres {
    /// Connects; waits up to `timeout` for the connection and for each lock.
    pub(super) fn connect(url: &str, timeout: Duration) -> Result<Postgres, RecordError> {
        let name = redact(url);
        let mut config = Config::from_str(url).map_err(|source| RecordError::Database {
            db: name.clone(),
            source: DbError::Postgres(source),
        })?;
        config.connect_timeout(timeout);
        let mut client = config
            .connect(NoTls)
            .map_err(|source| RecordError::Unreachable {
                db: name.clone(),
                source: DbError::Postgres(source),
            })?;
        // a table locked by another session fails after the timeout
        // instead of hanging the station
        let ms = timeout.as_millis();
        client
            .batch_execute(&format!("SET lock_timeout = {ms}"))
            .map_err(|e| classify(&name, e))?;
        Ok(Postgres { name, client })
    }
}

fn classify(name: &str, e: postgres::Error) -> RecordError {
    if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
        RecordError::Locked {
            db: name.to_owned(),
        }
    } else if e.is_closed() {
        RecordError::Unreachable {
            db: name.to_owned(),
            source: DbError::Postgres(e),
        }
    } else {
        RecordError::Database {
            db: name.to_owned(),
            source: DbError::Postgres(e),
        }
    }
}

struct Tx<'a, 'b> {
    name: &'a str,
    tx: &'a mut postgres::Transaction<'b>,
}

fn params(values: &[Value]) -> Vec<Box<dyn ToSql + Sync>> {
    values
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync> {
            match v {
                Value::Int(i) => Box::new(*i),
                Value::Text(s) => Box::new(s.clone()),
                Value::Null => Box::new(None::<String>),
            }
        })
        .collect()
}

impl Exec for Tx<'_, '_> {
    fn batch(&mut self, sql: &str) -> Result<(), RecordError> {
        self.tx
            .batch_execute(sql)
            .map_err(|e| classify(self.name, e))
    }

    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64, RecordError> {
        let owned = params(values);
        let refs: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| b.as_ref()).collect();
        self.tx
            .execute(sql, &refs)
            .map_err(|e| classify(self.name, e))
    }

    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Vec<Value>>, RecordError> {
        let owned = params(values);
        let refs: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| b.as_ref()).collect();
        let name = self.name;
        let rows = self.tx.query(sql, &refs).map_err(|e| classify(name, e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                let value = match *column.type_() {
                    Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int)),
                    Type::INT4 => row
                        .try_get::<_, Option<i32>>(i)
                        .map(|v| v.map(|n| Value::Int(i64::from(n)))),
                    _ => row
                        .try_get::<_, Option<String>>(i)
                        .map(|v| v.map(Value::Text)),
                }
                .map_err(|e| classify(name, e))?;
                values.push(value.unwrap_or(Value::Null));
            }
            out.push(values);
        }
        Ok(out)
    }
}

impl Backend for Postgres {
    fn name(&self) -> &str {
        &self.name
    }

    fn id_column(&self) -> &'static str {
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    }

    fn schema_lock(&self) -> Option<String> {
        Some(format!("SELECT pg_advisory_xact_lock({SCHEMA_LOCK})"))
    }

    fn transaction<T>(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Exec) -> Result<T, RecordError>,
    ) -> Result<T, RecordError> {
        let name = self.name.as_str();
        let mut tx = self.client.transaction().map_err(|e| classify(name, e))?;
        let value = f(&mut Tx { name, tx: &mut tx })?;
        tx.commit().map_err(|e| classify(name, e))?;
        Ok(value)
    }
}
