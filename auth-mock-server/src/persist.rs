//! The optional state file: everything needed to continue after a restart (pools with their
//! signing keys, clients, users, groups, devices, live tokens), written atomically.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::Shared;
use crate::keys::PoolKeys;
use crate::state::{AppClient, Group, Lifetimes, Object, Pool, User};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    clock_offset_millis: i64,
    pools: Vec<PoolSnapshot>,
    /// The refresh-token key, revocations, rotations and sign-out times (absent in older
    /// files, whose token tables are ignored: their tokens are refused after the upgrade).
    #[serde(default)]
    tokens: Option<crate::token_book::TokenBookSnapshot>,
    /// Identity pools, identities, credentials and issuer keys (absent in older files).
    #[serde(default)]
    identity: crate::identity::IdentitySnapshot,
}

#[derive(Serialize, Deserialize)]
struct PoolSnapshot {
    id: String,
    name: String,
    created: f64,
    modified: f64,
    settings: Object,
    clients: Vec<ClientSnapshot>,
    users: Vec<User>,
    groups: Vec<Group>,
    /// PKCS#8 DER, base64: the ID-token key and the access-token key.
    keys: [String; 2],
}

#[derive(Serialize, Deserialize)]
struct ClientSnapshot {
    id: String,
    secret: Option<String>,
    created: f64,
    modified: f64,
    settings: Object,
    lifetime_override: Lifetimes,
}

/// Writes the state file atomically (temporary file in the same directory, then rename).
pub(crate) fn save(shared: &Shared, path: &Path) -> Result<(), String> {
    let snapshot = {
        let state = shared.state.read();
        Snapshot {
            version: VERSION,
            clock_offset_millis: shared.clock.offset_millis(),
            pools: state
                .pools
                .values()
                .map(|pool| {
                    let [id_key, access_key] = pool.keys.pkcs8();
                    PoolSnapshot {
                        id: pool.id.clone(),
                        name: pool.name.clone(),
                        created: pool.created,
                        modified: pool.modified,
                        settings: pool.settings.clone(),
                        clients: pool
                            .clients
                            .values()
                            .map(|c| ClientSnapshot {
                                id: c.id.clone(),
                                secret: c.secret.clone(),
                                created: c.created,
                                modified: c.modified,
                                settings: c.settings.clone(),
                                lifetime_override: c.lifetime_override,
                            })
                            .collect(),
                        users: pool.users.values().cloned().collect(),
                        groups: pool.groups.values().cloned().collect(),
                        keys: [STANDARD.encode(id_key), STANDARD.encode(access_key)],
                    }
                })
                .collect(),
            tokens: Some(state.tokens.snapshot()),
            identity: crate::identity::snapshot(shared),
        }
    };
    let text = serde_json::to_vec(&snapshot).map_err(|e| e.to_string())?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("{}: {e}", path.display())
    })
}

/// Loads the state file if it exists; `Ok(false)` when there is none yet.
pub(crate) fn load(shared: &Shared, path: &Path) -> Result<bool, String> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.to_string()),
    };
    let snapshot: Snapshot =
        serde_json::from_slice(&text).map_err(|e| format!("not a state file: {e}"))?;
    if snapshot.version != VERSION {
        return Err(format!("unsupported state file version {}", snapshot.version));
    }
    let mut state = shared.state.write();
    for pool in snapshot.pools {
        let decode =
            |b64: &str| STANDARD.decode(b64).map_err(|e| format!("pool {}: bad key: {e}", pool.id));
        let keys = PoolKeys::from_pkcs8(&decode(&pool.keys[0])?, &decode(&pool.keys[1])?)
            .ok_or_else(|| format!("pool {}: unusable signing key", pool.id))?;
        let mut restored = Pool {
            id: pool.id.clone(),
            name: pool.name,
            created: pool.created,
            modified: pool.modified,
            settings: pool.settings,
            clients: Default::default(),
            users: Default::default(),
            groups: pool.groups.into_iter().map(|g| (g.name.clone(), g)).collect(),
            keys,
        };
        for client in pool.clients {
            state.client_index.insert(client.id.clone(), pool.id.clone());
            restored.clients.insert(
                client.id.clone(),
                AppClient {
                    id: client.id,
                    secret: client.secret,
                    created: client.created,
                    modified: client.modified,
                    settings: client.settings,
                    lifetime_override: client.lifetime_override,
                },
            );
        }
        for user in pool.users {
            let key = restored.user_key(&user.username);
            restored.users.insert(key, user);
        }
        state.pools.insert(pool.id, restored);
    }
    if let Some(tokens) = snapshot.tokens {
        state.tokens = crate::token_book::TokenBook::restore(tokens)
            .ok_or("the state file's refresh-token key is unusable")?;
    }
    drop(state);
    crate::identity::restore(shared, snapshot.identity)?;
    shared.clock.set_offset(snapshot.clock_offset_millis);
    Ok(true)
}

/// Saves whenever something changed, at most once a second, until shutdown.
pub(crate) async fn save_periodically(
    shared: Arc<Shared>,
    path: std::path::PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    let mut saved = u64::MAX;
    loop {
        let generation = shared.generation.load(Ordering::Relaxed);
        if generation != saved {
            let shared = Arc::clone(&shared);
            let path = path.clone();
            let result = tokio::task::spawn_blocking(move || save(&shared, &path)).await;
            match result {
                Ok(Ok(())) => saved = generation,
                Ok(Err(error)) => tracing::error!(%error, "could not write the state file"),
                Err(_) => tracing::error!("state file writer panicked"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}
