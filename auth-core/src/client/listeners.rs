//! State listeners: callbacks and streams, each with its own queue.
//!
//! Every listener gets every state change once and in order. Changes are queued while the
//! client's lock is held (so the order is the order of transitions) and delivered from the
//! listener's own queue, so a slow or panicking listener delays only itself.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Mutex, PoisonError, Weak};
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use crate::types::UserStateDetails;

#[derive(Debug, Default)]
pub(crate) struct Listeners {
    next_id: u64,
    senders: Vec<(u64, mpsc::UnboundedSender<UserStateDetails>)>,
}

impl Listeners {
    pub(crate) fn add(&mut self) -> (u64, mpsc::UnboundedReceiver<UserStateDetails>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.next_id += 1;
        self.senders.push((self.next_id, sender));
        (self.next_id, receiver)
    }

    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let before = self.senders.len();
        self.senders.retain(|(listener, _)| *listener != id);
        self.senders.len() != before
    }

    pub(crate) fn notify(&mut self, details: &UserStateDetails) {
        // A closed queue belongs to a dropped stream or a finished callback task.
        self.senders.retain(|(_, sender)| sender.send(details.clone()).is_ok());
    }
}

/// Runs `callback` for every change queued on `receiver`, surviving its panics.
pub(crate) fn spawn_callback<F>(
    mut receiver: mpsc::UnboundedReceiver<UserStateDetails>,
    callback: F,
) where
    F: Fn(UserStateDetails) + Send + Sync + 'static,
{
    tokio::spawn(async move {
        while let Some(details) = receiver.recv().await {
            let state = details.state;
            if catch_unwind(AssertUnwindSafe(|| callback(details))).is_err() {
                tracing::warn!(%state, "a user-state listener panicked; it stays registered");
            }
        }
    });
}

/// Unregisters a callback listener. Dropping the handle leaves the listener registered
/// (like a JavaScript event listener); call [`remove`](ListenerHandle::remove) to stop it.
#[derive(Debug)]
pub struct ListenerHandle {
    pub(crate) id: u64,
    pub(crate) listeners: Weak<Mutex<Listeners>>,
}

impl ListenerHandle {
    /// Stops the listener; changes already queued may still be delivered. Returns false if
    /// it was already removed or the client is gone.
    pub fn remove(self) -> bool {
        self.listeners.upgrade().is_some_and(|listeners| {
            listeners.lock().unwrap_or_else(PoisonError::into_inner).remove(self.id)
        })
    }
}

/// An async stream of user-state changes (`futures_core::Stream`). It buffers without
/// bound, so it never loses a change; drop it to unsubscribe.
#[derive(Debug)]
pub struct StateChanges {
    pub(crate) receiver: mpsc::UnboundedReceiver<UserStateDetails>,
}

impl StateChanges {
    /// The next change; `None` once the client is dropped.
    pub async fn next(&mut self) -> Option<UserStateDetails> {
        self.receiver.recv().await
    }

    /// A change already queued, without waiting.
    pub fn try_next(&mut self) -> Option<UserStateDetails> {
        self.receiver.try_recv().ok()
    }
}

impl futures_core::Stream for StateChanges {
    type Item = UserStateDetails;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<UserStateDetails>> {
        self.receiver.poll_recv(cx)
    }
}
