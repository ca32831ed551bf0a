//! The SQLite backend: a file on this station, shared by the processes that
//! open it (SQLite's file locks; a writer waits up to the store's timeout).

use std::path::Path;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::{Backend, DbError, Exec, RecordError, Value};

/// An SQLite database file.
#[derive(Debug)]
pub struct Sqlite {
    name: String,
    conn: Connection,
}

impl Sqlite {
    /// Opens (creating) the file; writers wait up to `timeout` for a lock.
    pub(super) fn open(path: &Path, timeout: Duration) -> Result<Sqlite, RecordError> {
        let name = path.display().to_string();
        let conn = Connection::open(path)
            .and_then(|conn| conn.busy_timeout(timeout).map(|()| conn))
            .map_err(|e| classify(&name, e))?;
        Ok(Sqlite { name, conn })
    }
}

/// A locked file is its own error: the one line says so.
fn classify(name: &str, e: rusqlite::Error) -> RecordError {
    let locked = matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    if locked {
        RecordError::Locked {
            db: name.to_owned(),
        }
    } else {
        RecordError::Database {
            db: name.to_owned(),
            source: DbError::Sqlite(e),
        }
    }
}

struct Tx<'a> {
    name: &'a str,
    tx: rusqlite::Transaction<'a>,
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
        Value::Null => rusqlite::types::Value::Null,
    }
}

impl Exec for Tx<'_> {
    fn batch(&mut self, sql: &str) -> Result<(), RecordError> {
        self.tx
            .execute_batch(sql)
            .map_err(|e| classify(self.name, e))
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, RecordError> {
        let params: Vec<_> = params.iter().map(to_sql).collect();
        self.tx
            .execute(sql, rusqlite::params_from_iter(params))
            .map(|n| n as u64)
            .map_err(|e| classify(self.name, e))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, RecordError> {
        let params: Vec<_> = params.iter().map(to_sql).collect();
        let name = self.name;
        let mut stmt = self.tx.prepare(sql).map_err(|e| classify(name, e))?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(|e| classify(name, e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| classify(name, e))? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i).map_err(|e| classify(name, e))? {
                    ValueRef::Integer(n) => Value::Int(n),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Null | ValueRef::Real(_) | ValueRef::Blob(_) => Value::Null,
                });
            }
            out.push(values);
        }
        Ok(out)
    }
}

impl Backend for Sqlite {
    fn name(&self) -> &str {
        &self.name
    }

    fn id_column(&self) -> &'static str {
        "INTEGER PRIMARY KEY"
    }

    fn transaction<T>(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Exec) -> Result<T, RecordError>,
    ) -> Result<T, RecordError> {
        let name = self.name.as_str();
        // IMMEDIATE: the write lock at the start, so two stations queue on
        // the busy timeout instead of failing at once when a read lock
        // would have to be upgraded
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(name, e))?;
        let mut tx = Tx { name, tx };
        let value = f(&mut tx)?;
        tx.tx.commit().map_err(|e| classify(name, e))?;
        Ok(value)
    }
}
