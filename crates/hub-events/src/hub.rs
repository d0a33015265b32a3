//! The [`Hub`]: named channels, listeners, dispatch.

use core::fmt;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{AuthChannelKey, AuthEvent};
use crate::delivery::{Barrier, BarrierFuture, Listener, in_callback, pool};
use crate::stream::{HubStream, StreamSender};

/// The channel of authentication events.
pub const AUTH_CHANNEL: &str = "auth";

/// Amplify's protected channels (`{core}/Hub/index.ts`). Amplify only logs a
/// warning when someone else dispatches on them; [`Hub::dispatch`] refuses.
pub const PROTECTED_CHANNELS: [&str; 9] =
    ["core", "auth", "api", "analytics", "interactions", "pubsub", "storage", "ui", "xr"];

/// Whether `channel` is one of [`PROTECTED_CHANNELS`] (case-sensitive, as in
/// Amplify).
#[must_use]
pub fn is_protected(channel: &str) -> bool {
    PROTECTED_CHANNELS.contains(&channel)
}

/// What is dispatched: Amplify's `HubPayload` (`{event, data?, message?}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HubPayload {
    /// The event name, e.g. `signedIn`.
    pub event: String,
    /// Event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl HubPayload {
    /// A payload with only an event name.
    #[must_use]
    pub fn new(event: impl Into<String>) -> Self {
        Self { event: event.into(), data: None, message: None }
    }

    /// Sets the data.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Sets the message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// What a listener receives: the channel and the payload (Amplify's
/// `HubCapsule`). One capsule is shared by all listeners of a dispatch.
#[derive(Clone, Debug, PartialEq)]
pub struct HubCapsule {
    /// The channel it was dispatched on.
    pub channel: String,
    /// The payload.
    pub payload: HubPayload,
}

/// Why a dispatch was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubError {
    /// The channel is protected (see [`PROTECTED_CHANNELS`]); the `auth`
    /// channel takes [`Hub::dispatch_auth`] with the hub's [`AuthChannelKey`].
    ProtectedChannel {
        /// The channel.
        channel: String,
    },
    /// The [`AuthChannelKey`] belongs to another hub.
    ForeignKey,
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ProtectedChannel { channel } => {
                write!(f, "channel {channel:?} is protected; only its owning library may dispatch on it")
            }
            Self::ForeignKey => f.write_str("this AuthChannelKey was issued by another hub"),
        }
    }
}

impl std::error::Error for HubError {}

enum Sink {
    Callback(Arc<Listener>),
    Stream(StreamSender),
}

struct Entry {
    id: u64,
    sink: Sink,
}

/// One channel's listeners, in registration order (ids increase). A dispatch
/// holds the lock while it queues the event for every listener (no listener
/// code runs meanwhile), so all listeners of a channel get its events in one
/// and the same order.
#[derive(Default)]
struct Channel {
    entries: Mutex<Vec<Entry>>,
}

impl Channel {
    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        // No user code runs while this lock is held.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) struct Inner {
    id: u64,
    next_listener: AtomicU64,
    panics: Arc<AtomicU64>,
    channels: Mutex<HashMap<String, Arc<Channel>>>,
}

static NEXT_HUB: AtomicU64 = AtomicU64::new(1);

/// An event hub with named channels: an instance, not a global. Cloning gives
/// another handle to the same hub.
///
/// # Delivery
///
/// * **Dispatch never runs listeners.** [`dispatch`](Self::dispatch) appends
///   the event (one shared [`HubCapsule`]) to the FIFO mailbox of every
///   callback listener of the channel and to the queue of every
///   [`HubStream`], then returns: its cost is a few pushes per listener,
///   whatever the listeners do. Callbacks run later on worker threads.
/// * **Worker threads**: a process-wide pool of plain `std` threads (named
///   `hub-events-worker`), started on the first dispatch; no async runtime
///   is needed. It starts with as many workers as CPUs (2 to 8). A listener
///   is handed to one worker at a time, which calls it for up to 64 queued
///   events and then moves on to the next waiting listener.
/// * **Order**: each listener gets the events of its channel one at a time
///   (never concurrently with itself), in dispatch order. Events from one
///   dispatching thread arrive in the order dispatched; events dispatched
///   concurrently from several threads get one order per channel, the same
///   for every listener of the channel. An event dispatched from inside a
///   listener reaches every listener after the event being handled. There
///   is **no order between listeners**: different listeners run on different
///   workers, in parallel.
/// * **A slow listener holds one worker**, not the dispatcher, and not the
///   other listeners: when listeners are waiting, no worker is idle and none
///   has picked up a listener for 20 ms, a supervisor thread adds a worker,
///   up to 128 threads; extra workers exit after 5 s without work. Limits:
///   events for the slow listener itself queue up without bound (use
///   [`Hub::subscribe`] for a bounded queue), others may be delayed by about
///   20 ms each time a worker gets stuck, and once 128 workers are all stuck
///   in callbacks, the other listeners wait for one of them to return.
/// * **A panicking listener is isolated**: the panic is caught, counted
///   ([`Hub::listener_panics`]), and the listener still gets later events;
///   other listeners are unaffected. (With `panic = "abort"` there is
///   nothing to catch.)
/// * **Flush**: [`flush`](Self::flush) blocks until everything dispatched
///   before the call has been delivered to every callback listener
///   ([`flush_timeout`](Self::flush_timeout) and
///   [`flush_async`](Self::flush_async) likewise). Use it in tests, and at
///   shutdown so that last events are not lost; events still queued when the
///   process exits are never delivered. Dropping the hub does not discard
///   queued events: they are still delivered.
/// * **No lock is held while a listener runs**, so listeners may dispatch,
///   listen and remove listeners (even themselves) on the same hub without
///   deadlock. A listener added during a dispatch may or may not get that
///   event; no replay: late listeners miss earlier events.
/// * **Removing** a listener (dropping its [`ListenerHandle`]) discards the
///   events still queued for it and no new call starts after `remove`
///   returns, except one that a worker was already starting: a call that is
///   running at that moment is not interrupted.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channels: Vec<(String, Arc<Channel>)> =
            self.inner.lock().iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect();
        let mut names: Vec<(String, usize)> = channels.into_iter().map(|(k, c)| (k, c.lock().len())).collect();
        names.sort_unstable();
        f.debug_struct("Hub").field("id", &self.inner.id).field("listeners", &names).finish()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        // No user code runs while this lock is held, so poisoning can only
        // come from an allocation failure; the map is still consistent.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn channel(&self, name: &str) -> Option<Arc<Channel>> {
        self.lock().get(name).cloned()
    }

    fn remove(&self, channel: &str, id: u64) {
        let removed = {
            let mut channels = self.lock();
            let Some(ch) = channels.get(channel) else { return };
            let mut entries = ch.lock();
            let removed = entries.binary_search_by_key(&id, |e| e.id).ok().map(|pos| entries.remove(pos));
            if entries.is_empty() {
                drop(entries);
                channels.remove(channel);
            }
            removed
        };
        // Dropping a callback or a stream sender runs foreign code (captured
        // values' destructors, a waker): no lock is held here.
        drop(removed);
    }

    fn callback_listeners(&self) -> Vec<Arc<Listener>> {
        let channels: Vec<Arc<Channel>> = self.lock().values().cloned().collect();
        let mut out = Vec::new();
        for ch in channels {
            out.extend(ch.lock().iter().filter_map(|e| match &e.sink {
                Sink::Callback(l) => Some(Arc::clone(l)),
                Sink::Stream(_) => None,
            }));
        }
        out
    }
}

impl Hub {
    /// A hub on which nobody can dispatch to protected channels.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_HUB.fetch_add(1, Ordering::Relaxed),
                next_listener: AtomicU64::new(0),
                panics: Arc::new(AtomicU64::new(0)),
                channels: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A hub plus the only key that can dispatch on its `auth` channel.
    ///
    /// **For the auth crate.** It creates the hub, keeps the key and hands
    /// out clones of the hub, so applications can listen to `auth` but not
    /// forge events on it.
    #[must_use]
    pub fn new_with_auth_key() -> (Self, AuthChannelKey) {
        let hub = Self::new();
        let key = AuthChannelKey::new(hub.inner.id);
        (hub, key)
    }

    /// Calls `callback` on a worker thread for every event on `channel`, in
    /// dispatch order, until the returned handle is dropped or
    /// [`ListenerHandle::remove`]d. See [`Hub`] for the delivery model.
    pub fn listen<F>(&self, channel: impl Into<String>, callback: F) -> ListenerHandle
    where
        F: Fn(&HubCapsule) + Send + Sync + 'static,
    {
        let listener = Arc::new(Listener::new(Box::new(callback), Arc::clone(&self.inner.panics)));
        let weak = Arc::downgrade(&listener);
        let mut handle = self.add(channel.into(), Sink::Callback(listener));
        handle.listener = Some(weak);
        handle
    }

    /// Calls `callback` with each [`AuthEvent`] on the `auth` channel (on a
    /// worker thread, like [`listen`](Self::listen)). Payloads that are not a
    /// known auth event are skipped.
    pub fn listen_auth<F>(&self, callback: F) -> ListenerHandle
    where
        F: Fn(&AuthEvent) + Send + Sync + 'static,
    {
        self.listen(AUTH_CHANNEL, move |capsule| {
            if let Ok(event) = AuthEvent::from_payload(&capsule.payload) {
                callback(&event);
            }
        })
    }

    /// The events of `channel` as an async stream. Dispatch never waits for
    /// the consumer: events queue up to `capacity` (the oldest are dropped
    /// beyond that and counted by [`HubStream::dropped_events`]). Events are
    /// queued by `dispatch` itself, so [`flush`](Self::flush) is not needed
    /// for streams. Dropping the stream stops listening.
    #[must_use]
    pub fn subscribe(&self, channel: impl Into<String>, capacity: usize) -> HubStream {
        let (sender, shared) = StreamSender::new(capacity);
        let handle = self.add(channel.into(), Sink::Stream(sender));
        HubStream::new(shared, handle)
    }

    fn add(&self, channel: String, sink: Sink) -> ListenerHandle {
        let id = self.inner.next_listener.fetch_add(1, Ordering::Relaxed);
        {
            let mut channels = self.inner.lock();
            let mut entries = channels.entry(channel.clone()).or_default().lock();
            // Ids are taken before the lock, so two threads may insert out of
            // id order; keep the list sorted (registration = id order).
            let pos = entries.partition_point(|e| e.id < id);
            entries.insert(pos, Entry { id, sink });
        }
        ListenerHandle { hub: Arc::downgrade(&self.inner), listener: None, channel, id, detached: false }
    }

    /// Dispatches `payload` on `channel`: queues it for every listener and
    /// returns without waiting for them (see [`Hub`]).
    ///
    /// # Errors
    ///
    /// [`HubError::ProtectedChannel`] for the channels of
    /// [`PROTECTED_CHANNELS`]; nothing is delivered.
    pub fn dispatch(&self, channel: &str, payload: HubPayload) -> Result<(), HubError> {
        if is_protected(channel) {
            return Err(HubError::ProtectedChannel { channel: channel.to_owned() });
        }
        self.publish(Arc::new(HubCapsule { channel: channel.to_owned(), payload }));
        Ok(())
    }

    /// Dispatches an [`AuthEvent`] on the `auth` channel.
    ///
    /// # Errors
    ///
    /// [`HubError::ForeignKey`] if `key` was issued for another hub.
    pub fn dispatch_auth(&self, key: &AuthChannelKey, event: &AuthEvent) -> Result<(), HubError> {
        self.dispatch_auth_payload(key, event.to_payload())
    }

    /// Dispatches a raw payload on the `auth` channel (for events this crate
    /// has no variant for yet).
    ///
    /// # Errors
    ///
    /// [`HubError::ForeignKey`] if `key` was issued for another hub.
    pub fn dispatch_auth_payload(&self, key: &AuthChannelKey, payload: HubPayload) -> Result<(), HubError> {
        if key.hub_id() != self.inner.id {
            return Err(HubError::ForeignKey);
        }
        self.publish(Arc::new(HubCapsule { channel: AUTH_CHANNEL.to_owned(), payload }));
        Ok(())
    }

    /// Blocks until every event dispatched before this call has been
    /// delivered to every callback listener of this hub (or discarded
    /// because the listener was removed). Events dispatched meanwhile by
    /// other threads are not waited for, so `flush` returns even under a
    /// steady stream of events; it does wait for slow listeners (see
    /// [`flush_timeout`](Self::flush_timeout)).
    ///
    /// Called from inside a listener callback (of any hub), it returns at
    /// once without waiting, since it could be waiting for itself.
    pub fn flush(&self) {
        self.flush_inner(None);
    }

    /// [`flush`](Self::flush), waiting at most `timeout`: whether everything
    /// dispatched before the call has been delivered. Always `false` inside
    /// a listener callback, where it does not wait.
    #[must_use = "false means some listeners have not got every event yet"]
    pub fn flush_timeout(&self, timeout: Duration) -> bool {
        self.flush_inner(Some(timeout))
    }

    /// [`flush`](Self::flush) for async code: the future completes when
    /// every event dispatched before this call (not before the first poll)
    /// has been delivered to every callback listener. It does not block a
    /// thread, and may also be awaited from a task spawned by a listener
    /// (but blocking a listener callback on it waits for that callback
    /// itself: a deadlock).
    pub fn flush_async(&self) -> impl Future<Output = ()> + Send + 'static {
        BarrierFuture(Barrier::queue(&self.inner.callback_listeners()))
    }

    fn flush_inner(&self, timeout: Option<Duration>) -> bool {
        if in_callback() {
            return false;
        }
        Barrier::queue(&self.inner.callback_listeners()).wait(timeout)
    }

    /// How many listener panics have been caught so far.
    #[must_use]
    pub fn listener_panics(&self) -> u64 {
        self.inner.panics.load(Ordering::Relaxed)
    }

    /// How many listeners `channel` has.
    #[must_use]
    pub fn listener_count(&self, channel: &str) -> usize {
        self.inner.channel(channel).map_or(0, |c| c.lock().len())
    }

    fn publish(&self, capsule: Arc<HubCapsule>) {
        let Some(channel) = self.inner.channel(&capsule.channel) else {
            return;
        };
        let mut wakers = Vec::new();
        let to_schedule = {
            let entries = channel.lock();
            let mut to_schedule = Vec::with_capacity(entries.len());
            for entry in entries.iter() {
                match &entry.sink {
                    Sink::Callback(listener) => {
                        if listener.push(Arc::clone(&capsule)) {
                            to_schedule.push(Arc::clone(listener));
                        }
                    }
                    Sink::Stream(sender) => wakers.extend(sender.push(Arc::clone(&capsule))),
                }
            }
            to_schedule
        };
        pool().schedule(to_schedule);
        for waker in wakers {
            waker.wake();
        }
    }
}

/// Keeps a listener registered. Dropping it, or calling
/// [`remove`](Self::remove), unsubscribes; [`detach`](Self::detach) keeps the
/// listener for the hub's lifetime.
#[must_use = "dropping the handle stops the listener at once"]
pub struct ListenerHandle {
    hub: Weak<Inner>,
    /// For callback listeners: stops them even after the hub is gone.
    listener: Option<Weak<Listener>>,
    channel: String,
    id: u64,
    detached: bool,
}

impl fmt::Debug for ListenerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerHandle").field("channel", &self.channel).field("id", &self.id).finish_non_exhaustive()
    }
}

impl ListenerHandle {
    /// Stops listening (the same as dropping the handle). Events queued for
    /// the listener and not yet delivered are discarded; a call already
    /// running on a worker thread finishes.
    pub fn remove(self) {
        drop(self);
    }

    /// Keeps listening until the hub is dropped; the listener can no longer
    /// be removed.
    pub fn detach(mut self) {
        self.detached = true;
    }

    /// The channel listened to.
    #[must_use]
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        if let Some(listener) = self.listener.as_ref().and_then(Weak::upgrade) {
            listener.deactivate();
        }
        if let Some(inner) = self.hub.upgrade() {
            inner.remove(&self.channel, self.id);
        }
    }
}
