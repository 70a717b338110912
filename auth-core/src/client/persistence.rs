//! Persistence: a session change is saved before it becomes visible, and the store's
//! compare-and-swap settles races with other writers (another process, another client).

use std::sync::Arc;

use super::{Core, Inner};
use crate::error::{AuthError, StoreError};
use crate::machine::{Event, SessionKind};
use crate::store::{Generation, overwrite_from};
use crate::types::StoredSession;

impl Inner {
    /// Makes `session` the current one: saved first (a sign-in that cannot be saved
    /// changes nothing), then made visible.
    pub(super) async fn complete_sign_in(
        self: &Arc<Self>,
        session: StoredSession,
        kind: SessionKind,
        identity_logins: Option<String>,
    ) -> Result<(), AuthError> {
        let _serial = self.persist_lock.lock().await;
        let expected = self.lock().generation;
        let generation = overwrite_from(&*self.store, expected, Some(&session)).await?;
        let mut core = self.lock();
        core.generation = generation;
        core.session = session;
        core.identity_logins = identity_logins;
        core.pending_challenge = None;
        core.epoch += 1;
        if let Some(user_pool) = &core.session.user_pool {
            self.note_clock_drift(user_pool.tokens.issued_at());
        } else if let Some(credentials) = &core.session.aws_credentials {
            self.note_clock_drift(credentials.issued_at);
        }
        self.refresh_caches(&core);
        self.apply(&mut core, Event::SignedIn { session: kind });
        Ok(())
    }

    /// Makes a refresh result current. The changed session is saved first, so a caller
    /// that receives the new tokens may exit at once without losing them; then it becomes
    /// the in-memory session and `finish` runs under the same lock. If someone else wrote
    /// the store since we last read or wrote it: for the same sign-in, the result is
    /// applied to their session and saved again; for another one (a sign-out, another
    /// user), their session is adopted and this result dropped. A store that cannot be
    /// written is logged; the result is kept in memory.
    pub(super) async fn commit(
        self: &Arc<Self>,
        epoch: u64,
        change: impl Fn(&mut StoredSession),
        finish: impl FnOnce(&Arc<Self>, &mut Core),
    ) {
        let _serial = self.persist_lock.lock().await;
        let mut saved = None;
        let mut session = StoredSession::default();
        for _ in 0..8 {
            let expected = {
                let core = self.lock();
                if core.epoch != epoch {
                    // A sign-in, a sign-out or an adopted session replaced the session
                    // this result belongs to.
                    return;
                }
                session = core.session.clone();
                core.generation
            };
            change(&mut session);
            match self.store.compare_and_swap(expected, Some(&session)).await {
                Ok(generation) => {
                    saved = Some(generation);
                    break;
                }
                Err(StoreError::Conflict { current }) => {
                    let snapshot = match self.store.load().await {
                        Ok(snapshot) => snapshot,
                        Err(error) => {
                            tracing::warn!(%error, "could not read the store; keeping the refreshed session in memory");
                            break;
                        }
                    };
                    let stored = snapshot.session.clone().unwrap_or_default();
                    let mut core = self.lock();
                    if core.epoch != epoch {
                        return;
                    }
                    if same_sign_in(&core.session, &stored) {
                        // Another process saved something for this same sign-in (its own
                        // refresh, new credentials): build on its session, so neither
                        // result is lost.
                        tracing::info!(%current, "the store was written by someone else for this session; merging");
                        core.generation = snapshot.generation;
                        core.session = stored;
                    } else {
                        tracing::info!(%current, "the store holds another session; adopting it");
                        self.adopt(&mut core, snapshot.generation, stored);
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not save the refreshed session; it is kept in memory");
                    break;
                }
            }
        }
        let mut core = self.lock();
        if core.epoch != epoch {
            return;
        }
        if let Some(generation) = saved {
            core.generation = generation;
        }
        core.session = session;
        self.refresh_caches(&core);
        finish(self, &mut core);
    }

    /// Takes the store's session (read at `generation`) as the truth after another writer
    /// replaced the session with a different one.
    fn adopt(self: &Arc<Self>, core: &mut Core, generation: Generation, stored: StoredSession) {
        core.generation = generation;
        if stored == core.session {
            return;
        }
        core.session = stored;
        core.identity_logins = None;
        core.epoch += 1;
        self.refresh_caches(core);
        let event = match session_kind(&core.session) {
            SessionKind::None => Event::SignedOut,
            session => Event::SignedIn { session },
        };
        self.apply(core, event);
    }

    /// Clears the session: the store first (a sign-out that cannot be saved changes
    /// nothing), then the in-memory session and caches.
    pub(super) async fn clear_session(self: &Arc<Self>) -> Result<(), AuthError> {
        let _serial = self.persist_lock.lock().await;
        let expected = self.lock().generation;
        let generation = overwrite_from(&*self.store, expected, None).await?;
        let mut core = self.lock();
        core.generation = generation;
        core.session = StoredSession::default();
        core.identity_logins = None;
        core.pending_challenge = None;
        core.epoch += 1;
        self.refresh_caches(&core);
        self.apply(&mut core, Event::SignedOut);
        Ok(())
    }
}

/// Whether two sessions belong to the same sign-in: the same user-pool user, the same
/// federated provider, or the same guest identity. A refresh result computed for one may
/// be applied to the other.
fn same_sign_in(a: &StoredSession, b: &StoredSession) -> bool {
    match (&a.user_pool, &b.user_pool, &a.federated, &b.federated) {
        (Some(a), Some(b), _, _) => a.username == b.username,
        (None, None, Some(a), Some(b)) => a.provider == b.provider,
        (None, None, None, None) => a.identity_id.is_some() && a.identity_id == b.identity_id,
        _ => false,
    }
}

pub(super) fn session_kind(session: &StoredSession) -> SessionKind {
    match (&session.user_pool, &session.federated) {
        (Some(_), _) => SessionKind::UserPool,
        (None, Some(federated)) => SessionKind::Federated { provider: federated.provider.clone() },
        (None, None) => SessionKind::None,
    }
}
