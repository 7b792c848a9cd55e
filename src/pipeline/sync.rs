//! Sync: reads the named connections side by side into new snapshots. Each connector runs on a
//! task of its own and streams its usage items through one channel into the store, which is
//! written on the caller's task; a finished sync becomes its connection's current snapshot, a
//! failed one is recorded with its error and leaves the previous snapshot current.
//!
//! Nothing here prints: what happens (waiting for another process, a run started, progress, a
//! connection finished) goes to the caller's [`SyncEvents`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::connectors::{Connector, ConnectorKind, ItemSink, Role, SyncCx};
use crate::http::{ConnectorError, RetryPolicy};
use crate::model::{Snapshot, UsageItem};
use crate::secrets::Secrets;
use crate::store::{Busy, Store};

/// What to sync.
pub struct SyncRequest<'a> {
    /// Where the connections' secrets are looked up.
    pub secrets: &'a Secrets,
    /// The retry policy every connection starts from (its `concurrency` is set per connection).
    pub retry: &'a RetryPolicy,
    pub config: &'a Config,
    /// The connections, as [`select_connections`] gives them.
    pub names: &'a [String],
    /// `sync NAME --file PATH`: the file an import connection reads this time instead of its
    /// configured path.
    pub file: Option<&'a Path>,
    /// `sync --allow-empty`: import connections accept a file with no rows this time.
    pub allow_empty: bool,
    /// Told what happens, as it happens.
    pub events: Arc<dyn SyncEvents>,
}

/// What a running sync tells its caller. Connectors report progress from their own tasks, hence
/// `Send + Sync`.
pub trait SyncEvents: Send + Sync {
    /// Another live process is syncing `connection` (`busy` says which); this sync waits up to
    /// `wait` for it to finish. Told once per connection.
    fn waiting(&self, connection: &str, busy: &Busy, wait: Duration);
    /// Run `run` of `connection` was recorded as `running`. It stays so until its
    /// [`SyncEvents::finished`]: a caller that drops the sync before then (Ctrl-C) is left to
    /// mark it abandoned.
    fn run_started(&self, connection: &str, run: i64);
    /// The connector of run `run` started reading.
    fn reading(&self, connection: &str, run: i64);
    /// Run `run` has read `count` records so far in `stage`.
    fn progress(&self, run: i64, stage: &str, count: usize);
    /// A connection's sync ended and is recorded in the store: read and stored, failed, or
    /// never started because another process syncs it. Every connection ends exactly once.
    fn finished(&self, outcome: &SyncOutcome);
}

/// How one connection's sync ended.
#[derive(Debug)]
pub struct SyncOutcome {
    pub connection: String,
    pub kind: ConnectorKind,
    /// 0 when no run was started (another process syncs the connection).
    pub run_id: i64,
    /// Records read per kind, or why the sync failed.
    pub result: std::result::Result<BTreeMap<String, usize>, String>,
    pub elapsed: Duration,
    /// Accounts a successful sync could not read, one line each (a partial run).
    pub warnings: Vec<String>,
}

/// The names to work on: all configured connections, or the named ones (each must exist).
pub fn select_connections(config: &Config, names: &[String]) -> Result<Vec<String>> {
    if config.connections.is_empty() {
        bail!("{}", config.none_configured());
    }
    if names.is_empty() {
        return Ok(config.connections.keys().cloned().collect());
    }
    for n in names {
        config.connection(n)?;
    }
    Ok(names.to_vec())
}

/// Syncs the connections of `request` side by side and returns how each ended: first those
/// that could not start, then the others in the order they finished. Each one is written to
/// the store as soon as it ends. Errors only when the store fails outside a connection's run.
///
/// Dropping the returned future (Ctrl-C) aborts the running connectors; their runs stay
/// `running` (see [`SyncEvents::run_started`]).
pub async fn run(store: &mut Store, request: SyncRequest<'_>) -> Result<Vec<SyncOutcome>> {
    let events = &request.events;
    let mut outcomes = Vec::new();
    let mut fan_out = FanOut::new();
    for name in request.names {
        match start(&request, store, name).await? {
            Started::Reading(reader) => {
                events.reading(name, reader.run_id);
                fan_out.spawn(reader, request.file, request.allow_empty, events.clone());
            }
            Started::Ended(outcome) => {
                events.finished(&outcome);
                outcomes.push(outcome);
            }
        }
    }
    while let Some((read, stored)) = fan_out.next_finished(store).await? {
        let outcome = record(store, read, stored)?;
        events.finished(&outcome);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// How long a sync waits for another process's sync of the same connection (two cron jobs
/// overlapping) before it gives up; `RECONCILE_SYNC_WAIT_SECS` overrides it.
const WAIT_FOR_OTHER_SYNC: Duration = Duration::from_secs(600);

/// A connection whose run is recorded and whose connector is built, ready to read.
struct Reader {
    name: String,
    kind: ConnectorKind,
    run_id: i64,
    started: Instant,
    connector: Box<dyn Connector>,
    /// Items per account in the current snapshot (vendors), which connectors plan reads by.
    previous: Option<Arc<BTreeMap<String, usize>>>,
}

enum Started {
    Reading(Reader),
    /// It could not start, and that is recorded.
    Ended(SyncOutcome),
}

/// Records a run of `name` and builds its connector. A connection that cannot start (another
/// process syncs it, its connector cannot be built) ends here.
async fn start(request: &SyncRequest<'_>, store: &mut Store, name: &str) -> Result<Started> {
    let kind = request.config.connection(name)?.kind();
    let ended = |run_id, result, elapsed| {
        Started::Ended(SyncOutcome {
            connection: name.to_string(),
            kind,
            run_id,
            result: Err(result),
            elapsed,
            warnings: Vec::new(),
        })
    };
    let run_id = match begin_run_waiting(store, name, kind, request.events.as_ref()).await {
        Ok(id) => id,
        // Nothing was started for it, so nothing to record: the other sync will.
        Err(e) if e.downcast_ref::<Busy>().is_some() => {
            return Ok(ended(0, format!("{e}"), Duration::ZERO));
        }
        Err(e) => return Err(e),
    };
    request.events.run_started(name, run_id);
    let started = Instant::now();
    let connector = match connector(request, name) {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("{e:#}");
            store.finish_run_failed(run_id, &msg)?;
            return Ok(ended(run_id, msg, started.elapsed()));
        }
    };
    let previous = match (kind.role(), store.current_run(name)?) {
        (Role::Vendor, Some(run)) => Some(Arc::new(store.items_per_account(run.id)?)),
        _ => None,
    };
    Ok(Started::Reading(Reader {
        name: name.to_string(),
        kind,
        run_id,
        started,
        connector,
        previous,
    }))
}

/// Starts a run of `name`, first waiting while another live process syncs it: fetching the
/// same data twice at once only spends the API's rate limit.
async fn begin_run_waiting(
    store: &mut Store,
    name: &str,
    kind: ConnectorKind,
    events: &dyn SyncEvents,
) -> Result<i64> {
    let wait = std::env::var("RECONCILE_SYNC_WAIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(WAIT_FOR_OTHER_SYNC);
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        match store.begin_run(name, kind.as_str()) {
            Ok(id) => return Ok(id),
            Err(e) => match e.downcast_ref::<Busy>() {
                Some(busy) if Instant::now() < deadline => {
                    if !told {
                        events.waiting(name, busy, wait);
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Some(busy) => {
                    let msg = format!(
                        "{busy}, still after waiting {}s: let it finish, then sync again",
                        wait.as_secs()
                    );
                    return Err(e.context(msg));
                }
                None => return Err(e),
            },
        }
    }
}

/// Builds `name`'s connector from its settings, its secrets and its concurrency: the one place
/// a sync turns configuration into a client.
fn connector(request: &SyncRequest, name: &str) -> Result<Box<dyn Connector>> {
    let settings = request.config.connection(name)?;
    let mut retry = request.retry.clone();
    retry.concurrency = request.config.concurrency_of(name);
    let secret = |field: &str| {
        request
            .secrets
            .get(name, field, Some(settings))
            .map(|(s, _)| s)
            .map_err(anyhow::Error::from)
    };
    settings.connect(name, &secret, retry)
}

/// What a connector's task returns.
struct Read {
    name: String,
    kind: ConnectorKind,
    run_id: i64,
    started: Instant,
    result: std::result::Result<Snapshot, ConnectorError>,
}

/// The running connectors and the channel their items come through.
struct FanOut {
    // Each connector is a task of its own, so the database writes (on the caller's task) never
    // hold up another connection's next request. Dropping the set (Ctrl-C) aborts them.
    running: JoinSet<Read>,
    // One channel for every connector; a small bound keeps a fast reader from piling records
    // up in memory.
    items_tx: mpsc::Sender<(i64, Vec<UsageItem>)>,
    items_rx: mpsc::Receiver<(i64, Vec<UsageItem>)>,
    /// Per run: items stored so far, or why storing them failed.
    streamed: BTreeMap<i64, std::result::Result<usize, String>>,
}

impl FanOut {
    fn new() -> FanOut {
        let (items_tx, items_rx) = mpsc::channel(4);
        FanOut {
            running: JoinSet::new(),
            items_tx,
            items_rx,
            streamed: BTreeMap::new(),
        }
    }

    fn spawn(
        &mut self,
        reader: Reader,
        file: Option<&Path>,
        allow_empty: bool,
        events: Arc<dyn SyncEvents>,
    ) {
        let Reader {
            name,
            kind,
            run_id,
            started,
            connector,
            previous,
        } = reader;
        let cx = SyncCx {
            progress: Arc::new(move |stage: &str, n: usize| events.progress(run_id, stage, n)),
            file: file.map(Path::to_path_buf),
            allow_empty,
            previous,
            sink: Some(ItemSink {
                run: run_id,
                tx: self.items_tx.clone(),
            }),
        };
        self.running.spawn(async move {
            let result = connector.sync(&cx).await;
            Read {
                name,
                kind,
                run_id,
                started,
                result,
            }
        });
    }

    /// Stores the items arriving from every connector until one of them returns, then gives
    /// what it returned and what storing its items gave (how many, or why storing failed).
    /// `None` once all have returned.
    async fn next_finished(
        &mut self,
        store: &mut Store,
    ) -> Result<Option<(Read, std::result::Result<usize, String>)>> {
        let joined = loop {
            tokio::select! {
                biased;
                Some((run, batch)) = self.items_rx.recv() => {
                    store_batch(&mut self.streamed, store, run, batch);
                }
                done = self.running.join_next() => break done,
            }
        };
        let read = match joined {
            None => return Ok(None),
            Some(Ok(read)) => read,
            // A panic inside a connector is a bug: it ends the process as it would have on one
            // task, and the next sync marks the runs left `running` interrupted.
            Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Some(Err(e)) => return Err(anyhow!("a sync task was cancelled: {e}")),
        };
        // A finished sync sent its last batch before returning: store what is queued first.
        while let Ok((run, batch)) = self.items_rx.try_recv() {
            store_batch(&mut self.streamed, store, run, batch);
        }
        let stored = self.streamed.remove(&read.run_id).unwrap_or(Ok(0));
        Ok(Some((read, stored)))
    }
}

/// Writes one streamed batch of `run`, unless storing its items already failed.
fn store_batch(
    streamed: &mut BTreeMap<i64, std::result::Result<usize, String>>,
    store: &mut Store,
    run: i64,
    batch: Vec<UsageItem>,
) {
    let entry = streamed.entry(run).or_insert(Ok(0));
    if let Ok(n) = entry {
        match store.write_items(run, &batch) {
            Ok(()) => *n += batch.len(),
            Err(e) => *entry = Err(format!("cannot save the synced records: {e:#}")),
        }
    }
}

/// Ends `read`'s run in the store: its snapshot becomes current when it was read and its
/// `stored` items saved whole; otherwise the run is marked failed with the reason.
fn record(
    store: &mut Store,
    read: Read,
    stored: std::result::Result<usize, String>,
) -> Result<SyncOutcome> {
    let Read {
        name,
        kind,
        run_id,
        started,
        result,
    } = read;
    let unreadable = match &result {
        Ok(snapshot) => snapshot.warnings(),
        Err(_) => Vec::new(),
    };
    let result = match (result, stored) {
        (Ok(snapshot), Ok(n)) => match store.finish_run_ok_streamed(run_id, &name, &snapshot, n) {
            Ok(()) => {
                let mut counts = snapshot.counts();
                if n > 0 {
                    *counts.entry("items".into()).or_default() += n;
                }
                Ok(counts)
            }
            Err(e) => {
                let msg = format!("cannot save the synced records: {e:#}");
                let _ = store.finish_run_failed(run_id, &msg);
                Err(msg)
            }
        },
        (Ok(_), Err(msg)) => {
            store.finish_run_failed(run_id, &msg)?;
            Err(msg)
        }
        (Err(e), stored) => {
            // A database failure while streaming is the cause; the connector only saw the
            // channel close.
            let msg = match stored {
                Err(why) => why,
                Ok(_) => e.to_string(),
            };
            store.finish_run_failed(run_id, &msg)?;
            Err(msg)
        }
    };
    let warnings = if result.is_ok() {
        unreadable
    } else {
        Vec::new()
    };
    Ok(SyncOutcome {
        connection: name,
        kind,
        run_id,
        result,
        elapsed: started.elapsed(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Every event, as a line.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Recorder {
        fn push(&self, line: String) {
            self.0.lock().unwrap().push(line);
        }
    }

    impl SyncEvents for Recorder {
        fn waiting(&self, connection: &str, _busy: &Busy, _wait: Duration) {
            self.push(format!("waiting {connection}"));
        }
        fn run_started(&self, connection: &str, run: i64) {
            self.push(format!("started {connection} {run}"));
        }
        fn reading(&self, connection: &str, run: i64) {
            self.push(format!("reading {connection} {run}"));
        }
        fn progress(&self, run: i64, _stage: &str, _count: usize) {
            self.push(format!("progress {run}"));
        }
        fn finished(&self, o: &SyncOutcome) {
            let how = match &o.result {
                Ok(counts) => format!("ok {counts:?}"),
                Err(_) => "failed".to_string(),
            };
            self.push(format!("finished {} {} {how}", o.connection, o.run_id));
        }
    }

    #[tokio::test]
    async fn every_connection_ends_once_and_only_built_ones_read() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("backup.csv");
        std::fs::write(&csv, "Client,SKU,Quantity\nAcme,B1,2\nBeta,B1,3\n").unwrap();
        // `n` has no client secret anywhere, so its connector cannot be built.
        let config = Config::parse(&format!(
            "[connections.f]\nkind = \"csv\"\npath = {:?}\n\
             [connections.n]\nkind = \"ninjaone\"\nurl = \"http://x\"\nclient_id = \"c\"\n",
            csv.display().to_string()
        ))
        .unwrap();
        let (secrets, retry) = (Secrets::memory(), RetryPolicy::default());
        let mut store = Store::open_in_memory().unwrap();
        let events = Arc::new(Recorder::default());
        let names = select_connections(&config, &["n".into(), "f".into()]).unwrap();
        let outcomes = run(
            &mut store,
            SyncRequest {
                secrets: &secrets,
                retry: &retry,
                config: &config,
                names: &names,
                file: None,
                allow_empty: false,
                events: events.clone(),
            },
        )
        .await
        .unwrap();

        let seen: Vec<String> = events
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| !l.starts_with("progress"))
            .cloned()
            .collect();
        assert_eq!(
            seen,
            [
                "started n 1",
                "finished n 1 failed",
                "started f 2",
                "reading f 2",
                r#"finished f 2 ok {"accounts": 2, "items": 2}"#,
            ],
        );
        let ended: Vec<(&str, bool)> = outcomes
            .iter()
            .map(|o| (o.connection.as_str(), o.result.is_ok()))
            .collect();
        assert_eq!(ended, [("n", false), ("f", true)]);
        // The failed one was recorded as such; the other is current.
        assert!(store.current_run("n").unwrap().is_none());
        assert_eq!(store.current_run("f").unwrap().unwrap().id, 2);
    }
}
